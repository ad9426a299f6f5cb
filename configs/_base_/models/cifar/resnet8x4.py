# resnet8x4 (RepDistiller) for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
_base_ = './resnet20.py'
model = dict(backbone=dict(depth=8, width=(64, 128, 256), stem_channels=32),
             head=dict(in_channels=256))
