# Demo segmentation teacher: DeepLabV3 on a dilated ResNet-18 (V1c stem) of 32 base channels
# (32-256), on the Fashion-MNIST-composed VOC set (real pixels), CPU-sized: 36 epochs of 400
# images. 128-pixel crops give a 16x16 map at output stride 8, so the ASPP rates are
# (1, 2, 3, 4) rather than (1, 6, 12, 18), whose taps fall mostly outside such a map; with
# that and lr 0.1 the teacher learns the garment classes faster (16 epochs of 600 images:
# 34.0 mIoU, against 28.2 with rates (1, 6, 12, 18), and 18.1 with those at lr 0.05).
_base_ = ['../_base_/datasets/fashion_voc_seg.py', 'mmseg::_base_/default_runtime.py']
width = 32
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                           seg_pad_val=255, size=(128, 128)),
    backbone=dict(type='ResNetV1c', depth=18, stem_channels=width, base_channels=width,
                  num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                  strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
                  contract_dilation=True),
    decode_head=dict(type='ASPPHead', in_channels=8 * width, in_index=3, channels=64,
                     dilations=(1, 2, 3, 4), dropout_ratio=0.1, num_classes=11,
                     norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=4 * width, in_index=2, channels=32,
                        num_convs=1, concat_input=False, dropout_ratio=0.1, num_classes=11,
                        norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=8)
epochs = 36
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=0.0)]
log_processor = dict(by_epoch=True)
default_hooks = dict(
    timer=dict(type='IterTimerHook'), logger=dict(type='LoggerHook', interval=25),
    param_scheduler=dict(type='ParamSchedulerHook'), sampler_seed=dict(type='DistSamplerSeedHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=epochs, max_keep_ckpts=1),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
