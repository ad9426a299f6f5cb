# OFD (overhaul of feature distillation) on backbone stages C2-C5 (pre-ReLU): Faster R-CNN
# R101 -> R18, VOC07+12, mmdet's schedule. Margins from each teacher stage's last BN, 1x1 conv
# + BN connectors, stages weighted 1/2^(L-1-i), scaled as in OFD's segmentation code (1e-5 / B).
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
model = dict(losses=dict(ofd=dict(
    type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-5, level_weights='geometric',
    teacher_bn=['backbone.layer1.2.bn3', 'backbone.layer2.3.bn3', 'backbone.layer3.22.bn3',
                'backbone.layer4.2.bn3'],
    connector=dict(type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                   out_channels=[256, 512, 1024, 2048]))))
