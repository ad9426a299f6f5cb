# L2RKD for segmentation (ADAPTATION): DeepLabV3 R101 -> R18, VOC2012 + SBD aug, val mIoU.
# Half of the steps distil on patch-mixed virtual samples, matching the pixel-wise logits
# (KD, T=4) without labels; the other half train on clean images with CE + KD.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_r101 = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_r101,
    teacher_ckpt='checkpoints/deeplabv3_r101-d8_512x512_40k_voc12aug.pth',  # your R101 teacher
    student=dict(cfg_path=voc_r101, pretrained='open-mmlab://resnet18_v1c', backbone=dict(depth=18),
                 decode_head=dict(in_channels=512, channels=128),
                 auxiliary_head=dict(in_channels=256, channels=64)),
    virtual_samples=dict(mode='patch', alpha=1.0, prob=0.5, grid=4),
    losses=dict(kd=dict(type='KDLoss', student='decode_head.conv_seg',
                        teacher='decode_head.conv_seg', tau=4.0)))
