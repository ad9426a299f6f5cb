# Channel-wise distillation on the FPN levels: Faster R-CNN R101 -> R18, VOC07+12,
# mmdet's schedule. tau = 1 and weight 10 as in the CWD paper's detection setting.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_frcnn = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller',
    teacher=dict(cfg_path=voc_frcnn, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/faster-rcnn_r101_fpn_voc0712.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_frcnn, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))),
    losses=dict(cwd_fpn=dict(type='ChannelWiseDivergence', student='neck', teacher='neck',
                             tau=1.0, loss_weight=10.0)))
