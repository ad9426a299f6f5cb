# IE-KD stage 2 for segmentation (adaptation): DeepLabV3 R101 -> R18 on C5 (backbone.layer4;
# student 512 ch, halves of 256 -> factors of 512; teacher 2048 ch through the frozen stage-1
# encoder), VOC2012 + SBD aug, val mIoU, mmseg's 40k schedule, w_inh = w_exp = 1.
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
        iekd=dict(type='IEKDLoss', student='backbone.layer4', teacher='backbone.layer4',
                  autoencoder_ckpt='work_dirs/deeplabv3_r101_ae_stage1/iter_8000.pth',
                  in_channels=512, teacher_channels=2048, factor_channels=512,
                  teacher_hidden_channels=512, split='natural',
                  distance='factor_transfer', w_inh=1.0, w_exp=1.0)))
