# Logit KD on the RoI head: Faster R-CNN R101 -> R18, VOC07+12, mmdet's schedule.
# The teacher runs to its neck only; its RoI head classifies the RoIs the student sampled
# (RoIKDLoss), so no teacher RPN, assigner or sampler runs.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(roi_kd=dict(
    type='RoIKDLoss', tau=1.0, loss_weight=1.0, teacher='neck',
    student=['roi_head.bbox_head.fc_cls', 'roi_head.bbox_roi_extractor:input1'])))
