# Logit KD on the RoI head: Faster R-CNN R101 -> R18, VOC07+12, mmdet's schedule.
# The teacher runs to its neck only; its RoI head classifies the RoIs the student sampled
# (RoIKDLoss), so no teacher RPN, assigner or sampler runs.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_frcnn = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller',
    teacher=dict(cfg_path=voc_frcnn, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/faster-rcnn_r101_fpn_voc0712.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_frcnn, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))),
    losses=dict(roi_kd=dict(
        type='RoIKDLoss', tau=1.0, loss_weight=1.0, teacher='neck',
        student=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1'])))
