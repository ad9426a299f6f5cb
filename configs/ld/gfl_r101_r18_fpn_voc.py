# LD (localization distillation): GFL R101 -> R18, VOC07+12, mmdet's VOC schedule. KL between
# the heads' box-edge distributions on the student's GFL positives, tau 10 (mmdet's LD configs).
# The teacher's GFL head runs on its FPN levels inside the loss. Weight 1 on LDLoss's average
# over positives (mmdet's 0.25 weights its differently normalised sum). Reference (mmdet's
# configs/ld, GFL R101 teacher): COCO R18 35.8 -> 36.5, R50 40.1 -> 41.0.
_base_ = '../_base_/distill/gfl_r101_r18_voc.py'
model = dict(losses=dict(ld=dict(type='LDLoss', student='bbox_head', teacher='neck', tau=10.0,
                                 region='positive', loss_weight=1.0)))
