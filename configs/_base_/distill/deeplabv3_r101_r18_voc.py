# DeepLabV3 R101 teacher -> R18 student, VOC2012 + SBD aug, val mIoU, mmseg's 40k schedule and
# runtime. A method config names this file in `_base_` and adds its losses.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_r101 = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_r101,
    teacher_ckpt='checkpoints/deeplabv3_r101-d8_512x512_40k_voc12aug.pth',  # your R101 teacher
    student=dict(cfg_path=voc_r101, pretrained='open-mmlab://resnet18_v1c', backbone=dict(depth=18),
                 decode_head=dict(in_channels=512, channels=128),
                 auxiliary_head=dict(in_channels=256, channels=64)))
