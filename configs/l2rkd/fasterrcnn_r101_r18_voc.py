# L2RKD for detection (ADAPTATION): Faster R-CNN R101 -> R18, VOC07+12 -> VOC07 test.
# Half of the steps distil on mixup virtual samples, matching the FPN features: they are the
# detector's last label-free dense outputs shared by RPN and RoI heads (the heads' outputs
# depend on proposals, which differ between teacher and student). Labels are never mixed.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(step=dict(type='VirtualSampleStep', mode='mixup', alpha=1.0, prob=0.5),
             losses=dict(fpn=dict(type='FitNetLoss', student='neck', teacher='neck')))
