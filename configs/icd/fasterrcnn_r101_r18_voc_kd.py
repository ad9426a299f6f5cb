# ICD + KD on Faster R-CNN R101 -> R18: the ICD config plus logit KD on the RoI head
# (RoIKDLoss, as configs/kd/fasterrcnn_r101_r18_roi_voc.py).
_base_ = './fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(kd=dict(
    type='RoIKDLoss', tau=1.0, loss_weight=1.0, teacher='neck',
    student=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1'])))
