# Attention transfer on backbone stages C2-C5: Faster R-CNN R101 -> R18, VOC07+12, mmdet's
# schedule. Adaptation: p = 2 and beta 1000 are RepDistiller's CIFAR setting, not tuned here.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
model = dict(losses=dict(at=dict(type='ATLoss', student=stages, teacher=stages, p=2,
                                 loss_weight=1000.0)))
