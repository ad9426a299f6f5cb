# LONDON + OFD on backbone stages C2-C5 (pre-ReLU): Faster R-CNN R101 -> R18, VOC07+12 trainval,
# VOC2007 test mAP, mmdet's VOC schedule. Adaptation: the reference code covers classification;
# OFD is scaled as in OFD's segmentation code (1e-5 / B), alpha follows setting a.
_base_ = ['../ofd/fasterrcnn_r101_r18_voc.py', './_cifar100_london_runtime.py']  # alpha by epoch
model = dict(losses=dict(london=dict(type='LipschitzLoss', student=_base_.taps,
                                     teacher=_base_.taps, connector='ofd', loss_weight=1.0)))
