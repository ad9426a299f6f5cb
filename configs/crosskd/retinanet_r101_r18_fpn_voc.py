# CrossKD (written from the paper): RetinaNet R101 -> R18, VOC07+12, mmdet's VOC schedule. The
# student head's features after 3 of its 4 convs (our choice) run through the rest of the
# frozen teacher head; those outputs mimic the teacher's (soft focal BCE for the classes, beta
# 2; 1 - GIoU of the decoded boxes). Reference (COCO): RetinaNet R50 37.4 -> 39.7.
_base_ = '../_base_/distill/retinanet_r101_r18_voc.py'
model = dict(losses=dict(crosskd=dict(type='CrossKDLoss', student='neck', teacher='neck',
                                      cross_layer=3, cls_weight=1.0, reg_weight=1.0)))
