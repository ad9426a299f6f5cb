# Channel-wise distillation on the FPN levels: RetinaNet R101 -> R18, VOC07+12, mmdet's
# schedule. tau = 1 and weight 10 as in the CWD paper's detection setting (MMRazor's RetinaNet
# config uses the same).
_base_ = '../_base_/distill/retinanet_r101_r18_voc.py'
model = dict(losses=dict(cwd_fpn=dict(type='ChannelWiseDivergence', student='neck', teacher='neck',
                                      tau=1.0, loss_weight=10.0)))
