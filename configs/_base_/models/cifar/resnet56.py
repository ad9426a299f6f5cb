# ResNet-56 for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmkd.CifarResNet', depth=56),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
