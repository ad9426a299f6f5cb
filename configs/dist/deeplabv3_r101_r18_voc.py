# DIST per pixel on the segmentation logits (pixels as samples): DeepLabV3 R101 -> R18, VOC2012 +
# SBD aug, mmseg's 40k schedule; beta = gamma = tau = 1, weight 1 as the authors' segmentation
# code on the decode head (it also adds 0.4 x DIST on the auxiliary head, which the teacher
# does not run here). Reference: Cityscapes DeepLabV3-R18 74.21 -> 77.10 mIoU.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(dist=dict(type='DISTLoss', student='decode_head.conv_seg',
                                   teacher='decode_head.conv_seg', beta=1.0, gamma=1.0, tau=1.0)))
