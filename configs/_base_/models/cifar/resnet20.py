# ResNet-20 for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone); the other CIFAR
# models in this folder change its backbone and head width.
model = dict(
    _scope_='mmpretrain',  # builds from any default scope
    type='ImageClassifier',
    backbone=dict(type='mmkd.CifarResNet', depth=20),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
