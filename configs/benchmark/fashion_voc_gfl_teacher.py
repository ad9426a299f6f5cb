# One-stage detection teacher of the accuracy benchmark (tools/benchmark/accuracy.py --task
# gfl): mmdet's GFL (ATSS assignment, quality focal and distribution focal losses) on a
# ResNet-18 of 32 base channels (32-256) with a 64-channel FPN and head, from scratch, on the
# Fashion-MNIST-composed VOC set of the detection demo (128-pixel images). The dense-head
# methods (LD, CrossKD) and the one-stage pairs' feature methods get their rows here.
_base_ = '../demo/fashion_voc_teacher.py'
width = 32
model = dict(
    _delete_=True,
    type='GFL',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    # from scratch: every stage trains and BN keeps statistics
    backbone=dict(type='ResNet', depth=18, base_channels=width, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_eval=False, style='pytorch',
                  norm_cfg=dict(type='BN', requires_grad=True), init_cfg=None),
    neck=dict(type='FPN', in_channels=[width, 2 * width, 4 * width, 8 * width], out_channels=64,
              start_level=1, add_extra_convs='on_output', num_outs=5),
    bbox_head=dict(
        type='GFLHead', num_classes=10, in_channels=64, stacked_convs=4, feat_channels=64,
        # anchors of 32-512 pixels on strides 8-128 (mmdet's 64-1024 suit 800-pixel images)
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25), reg_max=16,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1, pos_weight=-1,
                   debug=False),
    test_cfg=dict(nms_pre=300, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.6), max_per_img=30))
