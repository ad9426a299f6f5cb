# Channel-wise distillation of the segmentation logits: DeepLabV3 R101 -> R18,
# VOC2012 + SBD aug (mmseg's 40k schedule); tau and weight as in the CWD paper's setting.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(cwd=dict(type='ChannelWiseDivergence', student='decode_head.conv_seg',
                                  teacher='decode_head.conv_seg', tau=1.0, loss_weight=3.0)))
