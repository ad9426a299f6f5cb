# LONDON + OFD, ResNet-56 -> ResNet-20 on CIFAR-100 (setting a schedule and weights).
_base_ = ['../teachers/cifar100_resnet20.py', './_cifar100_london_runtime.py']
taps = ['backbone.layer1:pre_relu', 'backbone.layer2:pre_relu', 'backbone.layer3:pre_relu']
model = dict(
    _delete_=True, type='mmkd.Distiller',
    student='{{fileDirname}}/../teachers/cifar100_resnet20.py',
    teacher='{{fileDirname}}/../teachers/cifar100_resnet56.py',
    teacher_ckpt='work_dirs/cifar100_resnet56/epoch_200.pth',
    losses=dict(
        ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-3,
                 teacher_bn=['backbone.layer1.8.bn2', 'backbone.layer2.8.bn2',
                             'backbone.layer3.8.bn2'],
                 level_weights='geometric', connector=dict(
                     type='ConvBNConnector', in_channels=[16, 32, 64],
                     out_channels=[16, 32, 64])),
        london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                    loss_weight=1.0)))
