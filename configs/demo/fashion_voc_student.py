# Demo detection student: the teacher's Faster R-CNN with a ResNet-18 of 4 base channels
# (4-32; 64x fewer backbone FLOPs) and a 16-channel FPN, trained alone.
_base_ = ['./fashion_voc_teacher.py']
width = 4
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width, 2 * width, 4 * width, 8 * width], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=16),
                  bbox_head=dict(in_channels=16)))
