# WRN-40-2 for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
_base_ = './wrn16_2.py'
model = dict(backbone=dict(depth=40))
