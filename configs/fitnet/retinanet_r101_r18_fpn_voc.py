# FitNet on all FPN levels: RetinaNet R101 teacher -> R18 student, VOC07+12, mmdet's schedule.
_base_ = '../_base_/distill/retinanet_r101_r18_voc.py'
model = dict(losses=dict(fitnet_fpn=dict(type='FitNetLoss', student='neck', teacher='neck')))
