# ResNet-56 for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
_base_ = './resnet20.py'
model = dict(backbone=dict(depth=56))
