# LONDON + OFD, WRN-28-4 -> WRN-16-2 on CIFAR-100 (setting a).
# Reference: 23.78% top-1 error (OFD alone 24.08%).
_base_ = ['../_base_/distill/cifar100_wrn28_4_wrn16_2.py',
          '../_base_/schedules/cifar100_200e.py', './_cifar100_london_runtime.py']
taps = ['backbone.layer2.0.bn1', 'backbone.layer3.0.bn1', 'backbone.bn_final']  # pre-ReLU
model = dict(losses=dict(
    ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-3, teacher_bn=taps,
             level_weights='geometric', connector=dict(
                 type='ConvBNConnector', in_channels=[32, 64, 128], out_channels=[64, 128, 256])),
    london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                loss_weight=1.0)))
