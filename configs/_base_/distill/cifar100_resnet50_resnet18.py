# ResNet-50 teacher -> ResNet-18 student (mmpretrain's CIFAR ResNets) on CIFAR-100, with
# mmpretrain's data, schedule and runtime. A method config names this file and adds its losses.
_base_ = 'mmpretrain::resnet/resnet50_8xb16_cifar100.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
cifar_r50 = 'mmpretrain::resnet/resnet50_8xb16_cifar100.py'
model = dict(
    _delete_=True, type='mmkd.Distiller',
    student=dict(cfg_path=cifar_r50, backbone=dict(depth=18), head=dict(in_channels=512)),
    teacher=cifar_r50, teacher_ckpt='checkpoints/resnet50_cifar100.pth')  # your trained R50
