# Channel-wise distillation on the FPN levels: GFL R101 -> R18, VOC07+12, mmdet's VOC schedule,
# tau 1 and weight 10 as the CWD detection setting. (MMRazor's GFL R101 -> R50 result, 40.2 ->
# 41.9 COCO mAP, distils the classification head instead.)
_base_ = '../_base_/distill/gfl_r101_r18_voc.py'
model = dict(losses=dict(cwd_fpn=dict(type='ChannelWiseDivergence', student='neck', teacher='neck',
                                      tau=1.0, loss_weight=10.0)))
