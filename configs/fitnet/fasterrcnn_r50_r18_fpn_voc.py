# FitNet on all FPN levels: Faster R-CNN R50 teacher -> R18 student, VOC07+12, mmdet's schedule.
_base_ = './fasterrcnn_r101_r18_fpn_voc.py'
model = dict(teacher=_base_.voc_frcnn,
             teacher_ckpt='checkpoints/faster-rcnn_r50_fpn_1x_voc0712.pth')  # your trained R50
