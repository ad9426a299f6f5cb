# FGD on the five FPN levels: Faster R-CNN R101 -> R18, VOC07+12, mmdet's schedule. GT boxes
# split foreground and background; the authors' two-stage weights (alpha 5e-5, beta 2.5e-5,
# gamma 5e-5, lambda 5e-7, T 0.5).
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(fgd_fpn=dict(
    type='FGDLoss', student='neck', teacher='neck', student_channels=256, teacher_channels=256,
    num_levels=5, tau=0.5, alpha_fgd=5e-5, beta_fgd=2.5e-5, gamma_fgd=5e-5, lambda_fgd=5e-7)))
