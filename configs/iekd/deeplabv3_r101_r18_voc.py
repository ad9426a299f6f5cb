# IE-KD stage 2 for segmentation (adaptation): DeepLabV3 R101 -> R18 on C5 (backbone.layer4;
# student 512 ch, halves of 256 -> factors of 512; teacher 2048 ch through the frozen stage-1
# encoder), VOC2012 + SBD aug, val mIoU, mmseg's 40k schedule, w_inh = w_exp = 1.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(iekd=dict(
    type='IEKDLoss', student='backbone.layer4', teacher='backbone.layer4',
    autoencoder_ckpt='work_dirs/deeplabv3_r101_ae_stage1/iter_8000.pth', in_channels=512,
    teacher_channels=2048, factor_channels=512, teacher_hidden_channels=512, split='natural',
    distance='factor_transfer', w_inh=1.0, w_exp=1.0)))
