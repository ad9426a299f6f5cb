# L2RKD for segmentation (ADAPTATION): DeepLabV3 R101 -> R18, VOC2012 + SBD aug, val mIoU.
# Half of the steps distil on patch-mixed virtual samples, matching the pixel-wise logits
# (KD, T=4) without labels; the other half train on clean images with CE + KD.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(
    step=dict(type='VirtualSampleStep', mode='patch', alpha=1.0, prob=0.5, grid=4),
    losses=dict(kd=dict(type='KDLoss', student='decode_head.conv_seg',
                        teacher='decode_head.conv_seg', tau=4.0)))
