# The accuracy benchmark's cls teacher: a CIFAR ResNet-14 (16-32-64 channels, 175k weights)
# on the full real Fashion-MNIST (60k training, 10k test images), CPU-sized.
_base_ = ['../_base_/datasets/fashion_mnist_cls.py', '../_base_/models/cifar/resnet20.py']
default_scope = 'mmpretrain'
model = dict(backbone=dict(depth=14, in_channels=1), head=dict(num_classes=10))
epochs = 8
train_cfg = dict(by_epoch=True, max_epochs=epochs, val_interval=epochs)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs,
                       eta_min=0.0, convert_to_iter_based=True)
default_hooks = dict(
    timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=epochs, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
log_level = 'INFO'
randomness = dict(seed=0)
