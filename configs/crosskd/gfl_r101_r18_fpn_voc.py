# CrossKD (written from the paper): GFL R101 -> R18, VOC07+12, mmdet's VOC schedule. The
# student head's features after 3 of its 4 convs (our choice) run through the rest of the
# frozen teacher head; those outputs mimic the teacher's (soft focal BCE for the classes, beta
# 2; tau^2 KL of the box-edge distributions, tau 10). Reference (COCO): GFL R50 40.2 -> 43.7.
_base_ = '../_base_/distill/gfl_r101_r18_voc.py'
model = dict(losses=dict(crosskd=dict(type='CrossKDLoss', student='neck', teacher='neck',
                                      cross_layer=3, cls_weight=1.0, reg_weight=1.0)))
