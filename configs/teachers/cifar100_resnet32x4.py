# Train the resnet32x4 teacher (or the student alone, as a baseline) on CIFAR-100.
_base_ = ['../_base_/models/cifar/resnet32x4.py', '../_base_/datasets/cifar100_kd.py',
          '../_base_/schedules/cifar100_200e.py', 'mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
