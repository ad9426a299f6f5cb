# LONDON + OFD on backbone stages C2-C5 (pre-ReLU): DeepLabV3 R101 -> R18, VOC2012 + SBD aug,
# val mIoU, mmseg's 40k schedule (OFD's segmentation protocol uses DeepLabV3+, R101 -> R18).
# Adaptation: OFD is scaled as in OFD's segmentation code (1e-5 / B), alpha follows setting a.
_base_ = '../ofd/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(london=dict(type='LipschitzLoss', student=_base_.taps,
                                     teacher=_base_.taps, connector='ofd', loss_weight=1.0)))
custom_hooks = [  # setting a's alpha, 0.8 then 0.2 after 60% of the iterations
    dict(type='mmkd.DistillLossWeightHook', by_epoch=False,
         schedules=dict(london=dict(type='step', milestones=[0.6], values=[0.8, 0.2]))),
    dict(type='mmkd.LipschitzMonitorHook'),
]
