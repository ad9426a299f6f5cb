# LONDON + OFD, resnet32x4 -> resnet8x4 on CIFAR-100 (setting a schedule and weights).
_base_ = ['../teachers/cifar100_resnet8x4.py', './_cifar100_london_runtime.py']
taps = ['backbone.layer1:pre_relu', 'backbone.layer2:pre_relu', 'backbone.layer3:pre_relu']
model = dict(
    _delete_=True, type='mmkd.Distiller',
    student='{{fileDirname}}/../teachers/cifar100_resnet8x4.py',
    teacher='{{fileDirname}}/../teachers/cifar100_resnet32x4.py',
    teacher_ckpt='work_dirs/cifar100_resnet32x4/epoch_200.pth',
    losses=dict(
        ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-3,
                 teacher_bn=['backbone.layer1.4.bn2', 'backbone.layer2.4.bn2',
                             'backbone.layer3.4.bn2'],
                 level_weights='geometric', connector=dict(
                     type='ConvBNConnector', in_channels=[64, 128, 256],
                     out_channels=[64, 128, 256])),
        london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                    loss_weight=1.0)))
