# ICD + KD on DeepLabV3 R101 -> R18: the ICD config plus per-pixel KD on the logits (tau 4, as
# configs/kd/deeplabv3_r101_r18_voc.py).
_base_ = './deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(kd=dict(type='KDLoss', student='decode_head.conv_seg',
                                 teacher='decode_head.conv_seg', tau=4.0, loss_weight=1.0)))
