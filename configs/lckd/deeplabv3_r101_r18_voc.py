# LONDON + OFD on backbone stages C2-C5 (pre-ReLU): DeepLabV3 R101 -> R18, VOC2012 + SBD aug,
# val mIoU, mmseg's 40k schedule (OFD's segmentation protocol uses DeepLabV3+, R101 -> R18).
# Adaptation: OFD is scaled as in OFD's segmentation code (1e-5 / B), alpha follows setting a.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_r101 = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_r101,
    teacher_ckpt='checkpoints/deeplabv3_r101-d8_512x512_40k_voc12aug.pth',  # your R101 teacher
    student=dict(cfg_path=voc_r101, pretrained='open-mmlab://resnet18_v1c', backbone=dict(depth=18),
                 decode_head=dict(in_channels=512, channels=128),
                 auxiliary_head=dict(in_channels=256, channels=64)),
    losses=dict(
        ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-5,
                 teacher_bn=['backbone.layer1.2.bn3', 'backbone.layer2.3.bn3',
                             'backbone.layer3.22.bn3', 'backbone.layer4.2.bn3'],
                 level_weights='geometric', connector=dict(
                     type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                     out_channels=[256, 512, 1024, 2048])),
        london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                    loss_weight=1.0)))
custom_hooks = [
    dict(type='mmkd.DistillLossWeightHook', by_epoch=False,
         schedules=dict(london=dict(type='step', milestones=[0.6], values=[0.8, 0.2]))),
    dict(type='mmkd.LipschitzMonitorHook'),
]
