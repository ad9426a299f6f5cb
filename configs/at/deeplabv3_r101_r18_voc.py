# Attention transfer on backbone stages C2-C5: DeepLabV3 R101 -> R18, VOC2012 + SBD aug,
# mmseg's 40k schedule. Adaptation: p = 2 and beta 1000 are RepDistiller's CIFAR setting.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
model = dict(losses=dict(at=dict(type='ATLoss', student=stages, teacher=stages, p=2,
                                 loss_weight=1000.0)))
