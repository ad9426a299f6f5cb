# Demo detection teacher: Faster R-CNN with a ResNet-18 of 32 base channels (32-256) and a
# 64-channel FPN, on the Fashion-MNIST-composed VOC set (real pixels), CPU-sized:
# 400 training images (tools/demo.py composes them), 24 epochs (1200 iterations). 32 sampled
# RoIs per image (at most 4 objects) and torchvision's RoIAlign kernel: on CPU the RoI
# features' forward and backward were half of each step.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py',
          '../_base_/datasets/fashion_voc_det.py', 'mmdet::_base_/default_runtime.py']
width = 32
model = dict(
    # from scratch: every stage trains and BN keeps statistics (mmdet's base freezes the
    # stem and stage 1 and fixes BN statistics, as suits an ImageNet-pretrained backbone)
    backbone=dict(depth=18, base_channels=width, init_cfg=None, frozen_stages=-1,
                  norm_eval=False),
    neck=dict(in_channels=[width, 2 * width, 4 * width, 8 * width], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(scales=[6], strides=[4, 8, 16, 32, 64])),
    roi_head=dict(bbox_roi_extractor=dict(
                      out_channels=64, roi_layer=dict(use_torchvision=True)),
                  bbox_head=dict(in_channels=64, fc_out_channels=128, num_classes=10)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=100),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=30)))
train_dataloader = dict(batch_size=8)
epochs = 24
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=1e-4),
                     clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=0.0)]
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(interval=epochs, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
