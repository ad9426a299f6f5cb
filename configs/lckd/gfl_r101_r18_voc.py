# LONDON + OFD on backbone stages C2-C5 (pre-ReLU): GFL R101 -> R18, VOC07+12 trainval,
# VOC2007 test mAP, mmdet's VOC schedule; the settings of fasterrcnn_r101_r18_voc.py (the same
# backbones) on the one-stage pair. Adaptation: the reference code covers classification.
_base_ = ['../_base_/distill/gfl_r101_r18_voc.py', '../ofd/_resnet101_resnet18_stages.py',
          './_cifar100_london_runtime.py']  # alpha by epoch
model = dict(losses=dict(
    ofd=_base_.ofd_r101_r18,
    london=dict(type='LipschitzLoss', student=_base_.taps, teacher=_base_.taps, connector='ofd',
                loss_weight=1.0)))
