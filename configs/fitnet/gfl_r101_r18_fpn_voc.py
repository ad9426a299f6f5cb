# FitNet on all FPN levels: GFL R101 teacher -> R18 student, VOC07+12, mmdet's VOC schedule.
_base_ = '../_base_/distill/gfl_r101_r18_voc.py'
model = dict(losses=dict(fitnet_fpn=dict(type='FitNetLoss', student='neck', teacher='neck')))
