# OFD on ResNet-101 -> ResNet-18 backbone stages C2-C5 (pre-ReLU) of mmdet's detectors, shared by
# the detection pairs' OFD and LONDON configs: margins from each teacher stage's last BN, 1x1
# conv + BN connectors, stages weighted 1/2^(L-1-i), scaled as in OFD's segmentation code
# (1e-5 / B). A config names this file among its `_base_` and uses `_base_.ofd_r101_r18`.
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
ofd_r101_r18 = dict(
    type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-5, level_weights='geometric',
    teacher_bn=['backbone.layer1.2.bn3', 'backbone.layer2.3.bn3', 'backbone.layer3.22.bn3',
                'backbone.layer4.2.bn3'],
    connector=dict(type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                   out_channels=[256, 512, 1024, 2048]))
