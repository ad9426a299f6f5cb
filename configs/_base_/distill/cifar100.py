# CIFAR-100 data and mmpretrain's runtime for a Distiller: each cifar100_<teacher>_<student>.py
# here adds its pair; a method config adds its schedule (../schedules/) and its losses.
_base_ = ['../datasets/cifar100_kd.py', 'mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(type='mmkd.Distiller')
