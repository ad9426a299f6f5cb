# FGD (focal and global distillation) on the five FPN levels: RetinaNet R101 -> R18, VOC07+12,
# mmdet's schedule. GT boxes split foreground and background; the authors' one-stage weights
# (alpha 1e-3, beta 5e-4, gamma 5e-4, lambda 5e-6, T 0.5). Reference: RetinaNet X101 -> R50,
# COCO 37.4 -> 40.5.
_base_ = '../_base_/distill/retinanet_r101_r18_voc.py'
model = dict(losses=dict(fgd_fpn=dict(
    type='FGDLoss', student='neck', teacher='neck', student_channels=256, teacher_channels=256,
    num_levels=5, tau=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4, lambda_fgd=5e-6)))
