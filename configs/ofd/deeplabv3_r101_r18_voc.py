# OFD on backbone stages C2-C5 (pre-ReLU): DeepLabV3 R101 -> R18, VOC2012 + SBD aug, val mIoU,
# mmseg's 40k schedule (OFD's segmentation protocol uses DeepLabV3+, R101 -> R18). The stage
# taps, margins and connectors of the Faster R-CNN config (same ResNets); 1e-5 / B as OFD's code.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
model = dict(losses=dict(ofd=dict(
    type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-5, level_weights='geometric',
    teacher_bn=['backbone.layer1.2.bn3', 'backbone.layer2.3.bn3', 'backbone.layer3.22.bn3',
                'backbone.layer4.2.bn3'],
    connector=dict(type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                   out_channels=[256, 512, 1024, 2048]))))
