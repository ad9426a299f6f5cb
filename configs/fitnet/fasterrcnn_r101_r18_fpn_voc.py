# FitNet on all FPN levels: Faster R-CNN R101 teacher -> R18 student, VOC07+12, mmdet's schedule.
_base_ = './fasterrcnn_r50_r18_fpn_voc.py'
model = dict(
    teacher=dict(_delete_=True, cfg_path=_base_.voc_frcnn, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/faster-rcnn_r101_fpn_voc0712.pth')  # your trained R101 teacher
