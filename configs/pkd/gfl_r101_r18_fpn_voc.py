# PKD on the FPN levels: GFL R101 -> R18, VOC07+12, mmdet's VOC schedule; weight 10 as for
# RetinaNet (MMRazor's one-stage PKD setting; no GFL reference run).
_base_ = '../_base_/distill/gfl_r101_r18_voc.py'
model = dict(losses=dict(pkd_fpn=dict(type='PKDLoss', student='neck', teacher='neck',
                                      loss_weight=10.0)))
