# Channel-wise distillation of the segmentation logits: DeepLabV3 R101 -> R18,
# VOC2012 + SBD aug (mmseg's 40k schedule); tau and weight as in the CWD paper's setting.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_r101 = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_r101,
    teacher_ckpt='checkpoints/deeplabv3_r101-d8_512x512_40k_voc12aug.pth',  # your R101 teacher
    student=dict(cfg_path=voc_r101, pretrained='open-mmlab://resnet18_v1c', backbone=dict(depth=18),
                 decode_head=dict(in_channels=512, channels=128),
                 auxiliary_head=dict(in_channels=256, channels=64)),
    losses=dict(cwd=dict(type='ChannelWiseDivergence', student='decode_head.conv_seg',
                         teacher='decode_head.conv_seg', tau=1.0, loss_weight=3.0)))
