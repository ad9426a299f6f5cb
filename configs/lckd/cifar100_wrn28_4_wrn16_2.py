# LONDON + OFD, WRN-28-4 -> WRN-16-2 on CIFAR-100 (setting a).
# Reference: 23.78% top-1 error (OFD alone 24.08%).
_base_ = ['../teachers/cifar100_wrn16_2.py', './_cifar100_london_runtime.py']
taps = ['backbone.layer2.0.bn1', 'backbone.layer3.0.bn1', 'backbone.bn_final']  # pre-ReLU
model = dict(
    _delete_=True, type='mmkd.Distiller',
    student='{{fileDirname}}/../teachers/cifar100_wrn16_2.py',
    teacher='{{fileDirname}}/../teachers/cifar100_wrn28_4.py',
    teacher_ckpt='work_dirs/cifar100_wrn28_4/epoch_200.pth',
    losses=dict(
        ofd=dict(type='OFDLoss', student=taps, teacher=taps, teacher_bn=taps, loss_weight=1e-3,
                 level_weights='geometric', connector=dict(
                     type='ConvBNConnector', in_channels=[32, 64, 128],
                     out_channels=[64, 128, 256])),
        london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                    loss_weight=1.0)))
