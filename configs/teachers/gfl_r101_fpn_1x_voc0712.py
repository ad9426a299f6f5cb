# GFL R101 on VOC07+12 trainval, VOC2007 test mAP: the teacher of
# configs/_base_/distill/gfl_r101_r18_voc.py (mmdet has no VOC GFL config). The model is
# mmdet's gfl_r50_fpn_1x_coco at depth 101 with VOC's 20 classes; data, schedule (4 epochs of
# the 3x repeated set, lr x0.1 after 3) and runtime are mmdet's VOC RetinaNet config's.
# With --cfg-options model.backbone.depth=18 model.neck.in_channels=[64,128,256,512]
# model.backbone.init_cfg.checkpoint=torchvision://resnet18 it trains the student alone.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
model = dict(
    type='GFL',
    backbone=dict(depth=101, init_cfg=dict(type='Pretrained',
                                            checkpoint='torchvision://resnet101')),
    neck=dict(add_extra_convs='on_output'),
    bbox_head=dict(
        _delete_=True, type='GFLHead', num_classes=20, in_channels=256, stacked_convs=4,
        feat_channels=256, reg_max=16,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(_delete_=True, assigner=dict(type='ATSSAssigner', topk=9),
                   allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg=dict(nms=dict(iou_threshold=0.6)))
