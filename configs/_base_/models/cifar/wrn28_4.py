# WRN-28-4 for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
_base_ = './wrn16_2.py'
model = dict(backbone=dict(depth=28, widen_factor=4), head=dict(in_channels=256))
