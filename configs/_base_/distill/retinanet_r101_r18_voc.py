# RetinaNet R101 teacher -> R18 student (FPN), VOC07+12 trainval, VOC2007 test mAP, mmdet's VOC
# schedule and runtime. A method config names this file in `_base_` and adds its losses.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_retina = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller',
    teacher=dict(cfg_path=voc_retina, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/retinanet_r101_fpn_voc0712.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_retina, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))))
