# resnet32x4 (RepDistiller) for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
_base_ = './resnet8x4.py'
model = dict(backbone=dict(depth=32))
