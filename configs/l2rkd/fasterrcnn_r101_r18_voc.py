# L2RKD for detection (ADAPTATION): Faster R-CNN R101 -> R18, VOC07+12 -> VOC07 test.
# Half of the steps distil on mixup virtual samples, matching the FPN features: they are the
# detector's last label-free dense outputs shared by RPN and RoI heads (the heads' outputs
# depend on proposals, which differ between teacher and student). Labels are never mixed.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_frcnn = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller',
    teacher=dict(cfg_path=voc_frcnn, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/faster-rcnn_r101_fpn_voc0712.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_frcnn, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))),
    virtual_samples=dict(mode='mixup', alpha=1.0, prob=0.5),
    losses=dict(fpn=dict(type='FitNetLoss', student='neck', teacher='neck')))
