# GFL R101 teacher -> R18 student (FPN), VOC07+12 trainval, VOC2007 test mAP: mmdet's GFL model
# with 20 classes on mmdet's VOC data, schedule and runtime (configs/teachers/
# gfl_r101_fpn_1x_voc0712.py, which also trains the teacher). A method config names this file
# in `_base_` and adds its losses.
_base_ = '../../teachers/gfl_r101_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_gfl = '{{fileDirname}}/../../teachers/gfl_r101_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_gfl,
    teacher_ckpt='work_dirs/gfl_r101_fpn_1x_voc0712/epoch_4.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_gfl, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))))
