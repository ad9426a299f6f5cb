# resnet32x4 (RepDistiller) for CIFAR-100 (mmpretrain ImageClassifier with an mmkd backbone).
model = dict(
    _scope_='mmpretrain',  # builds from any default scope
    type='ImageClassifier',
    backbone=dict(type='mmkd.CifarResNet', depth=32, width=(64, 128, 256), stem_channels=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
