# DIST on the RoI head's class logits (RoIs as samples): Faster R-CNN R101 -> R18, VOC07+12,
# mmdet's schedule. As configs/kd/fasterrcnn_r101_r18_roi_voc.py, the teacher's RoI head
# classifies the student's RoIs (RoIKDLoss), here scored by DIST with beta = gamma = tau = 1
# (the authors' detection code is not released). Reference: Faster R-CNN R50, COCO 38.4 -> 40.4.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(dist=dict(
    type='RoIKDLoss', teacher='neck', logit_loss=dict(type='DISTLoss', beta=1.0, gamma=1.0,
                                                       tau=1.0),
    student=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1'])))
