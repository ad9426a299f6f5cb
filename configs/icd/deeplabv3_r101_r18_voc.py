# ICD on DeepLabV3 R101 -> R18, VOC2012 + SBD aug, val mIoU, mmseg's 40k schedule.
# ADAPTATION: the paper (arXiv 2407.11802 v1) reports classification only (CIFAR-100, e.g.
# WRN-40-2 -> WRN-16-2 ICD 74.92 / ICD+KD 76.06; resnet32x4 -> resnet8x4 ICD+KD 74.99). Here
# L_ICD is applied to the globally pooled C5 feature ('backbone.layer4', 512 ch for R18,
# 2048 for R101), one embedding per image. Segmentation runs 4 images per GPU, so the in-batch
# negatives are all-gathered across ranks (gather=True). The weight (1.0) is the CIFAR one,
# not tuned for segmentation.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_r101 = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', teacher=voc_r101,
    teacher_ckpt='checkpoints/deeplabv3_r101-d8_512x512_40k_voc12aug.pth',  # your R101 teacher
    student=dict(cfg_path=voc_r101, pretrained='open-mmlab://resnet18_v1c', backbone=dict(depth=18),
                 decode_head=dict(in_channels=512, channels=128),
                 auxiliary_head=dict(in_channels=256, channels=64)),
    losses=dict(
        icd=dict(type='ICDLoss', student='backbone.layer4', teacher='backbone.layer4',
                 in_channels_s=512, in_channels_t=2048, embed_dim=128, inv_weight=0.5,
                 gather=True, loss_weight=1.0)))
