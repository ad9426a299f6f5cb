# FitNet on all FPN levels: Faster R-CNN R50 teacher -> R18 student, VOC07+12, mmdet's schedule.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_frcnn = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_frcnn,
    teacher_ckpt='checkpoints/faster-rcnn_r50_fpn_1x_voc0712.pth',  # your trained R50 teacher
    student=dict(cfg_path=voc_frcnn, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))),
    losses=dict(fitnet_fpn=dict(type='FitNetLoss', student='neck', teacher='neck')))
