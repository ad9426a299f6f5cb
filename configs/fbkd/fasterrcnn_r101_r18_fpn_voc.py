# FBKD (attention-guided and non-local distillation) on FPN levels P2-P5: Faster R-CNN R101 ->
# R18, VOC07+12, mmdet's schedule. The authors' weights as MMRazor reports them (at 4e-3,
# am 7e-5, nl 7e-5, T 0.5) and MMRazor's non-local blocks per level (channel reduction
# 4, 4, 2, 2; max-pool stride 8, 4, 2, 2). Reference: Faster R-CNN R101 -> R50, COCO 37.4 -> 39.3.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
levels = [f'neck.fpn_convs.{i}' for i in range(4)]  # P2-P5 (P6 is pooled from P5)
model = dict(losses=dict(fbkd_fpn=dict(
    type='FBKDLoss', student=levels, teacher=levels, student_channels=256, teacher_channels=256,
    num_levels=4, tau=0.5, at_weight=4e-3, am_weight=7e-5, nl_weight=7e-5,
    reduction=[4, 4, 2, 2], pool_stride=[8, 4, 2, 2])))
