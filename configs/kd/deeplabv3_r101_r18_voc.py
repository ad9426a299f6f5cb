# Hinton KD per pixel on the segmentation logits (tau 4): DeepLabV3 R101 -> R18, VOC2012 + SBD
# aug, mmseg's 40k schedule.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(kd=dict(type='KDLoss', student='decode_head.conv_seg',
                                 teacher='decode_head.conv_seg', tau=4.0, loss_weight=1.0)))
