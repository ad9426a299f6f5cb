# LONDON + OFD, ResNet-56 -> ResNet-20 on CIFAR-100 (setting a schedule and weights).
_base_ = ['../_base_/distill/cifar100_resnet56_resnet20.py',
          '../_base_/schedules/cifar100_200e.py', './_cifar100_london_runtime.py']
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3)]
model = dict(losses=dict(
    ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-3,
             teacher_bn=[f'backbone.layer{i}.8.bn2' for i in (1, 2, 3)],  # stages' last BN
             level_weights='geometric', connector=dict(
                 type='ConvBNConnector', in_channels=[16, 32, 64], out_channels=[16, 32, 64])),
    london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                loss_weight=1.0)))
