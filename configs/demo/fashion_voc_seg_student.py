# Demo segmentation student: the teacher's DeepLabV3 on a ResNet-18 of 8 base channels
# (8-64; 16x fewer backbone FLOPs) with a 16-channel head, trained alone.
_base_ = ['./fashion_voc_seg_teacher.py']
width = 8
model = dict(
    backbone=dict(stem_channels=width, base_channels=width),
    decode_head=dict(in_channels=8 * width, channels=16),
    auxiliary_head=dict(in_channels=4 * width, channels=16))
