# Hinton KD (tau 4): ResNet-50 teacher -> ResNet-18 student on CIFAR-100, mmpretrain's schedule.
_base_ = 'mmpretrain::resnet/resnet50_8xb16_cifar100.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
cifar_r50 = 'mmpretrain::resnet/resnet50_8xb16_cifar100.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=cifar_r50,
    teacher_ckpt='checkpoints/resnet50_cifar100.pth',  # your trained teacher
    student=dict(cfg_path=cifar_r50, backbone=dict(depth=18), head=dict(in_channels=512)),
    losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0)))
