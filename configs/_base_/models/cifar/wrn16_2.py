# WRN-16-2 for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
_base_ = './resnet20.py'
model = dict(backbone=dict(_delete_=True, type='mmkd.WideResNet', depth=16, widen_factor=2),
             head=dict(in_channels=128))
