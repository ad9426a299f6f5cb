# LONDON + OFD on backbone stages C2-C5 (pre-ReLU): Faster R-CNN R101 -> R18, VOC07+12 trainval,
# VOC2007 test mAP, mmdet's VOC schedule. Adaptation: the reference code covers classification;
# OFD is scaled as in OFD's segmentation code (1e-5 / B), alpha follows setting a.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_frcnn = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
model = dict(
    _delete_=True, type='mmkd.Distiller',
    teacher=dict(cfg_path=voc_frcnn, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/faster-rcnn_r101_fpn_voc0712.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_frcnn, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))),
    losses=dict(
        ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-5,
                 teacher_bn=['backbone.layer1.2.bn3', 'backbone.layer2.3.bn3',
                             'backbone.layer3.22.bn3', 'backbone.layer4.2.bn3'],
                 level_weights='geometric', connector=dict(
                     type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                     out_channels=[256, 512, 1024, 2048])),
        london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                    loss_weight=1.0)))
custom_hooks = [
    dict(type='mmkd.DistillLossWeightHook', by_epoch=True,
         schedules=dict(london=dict(type='step', milestones=[0.6], values=[0.8, 0.2]))),
    dict(type='mmkd.LipschitzMonitorHook'),
]
