# IE-KD stage 2 for detection: Faster R-CNN R101 -> R18 on C5 (backbone.layer4; student 512 ch,
# halves of 256 ch -> factors of 512 ch; teacher 2048 ch through the frozen stage-1 encoder),
# VOC07+12 trainval, VOC2007 test mAP, mmdet's VOC schedule. w_inh = w_exp = 1 as the CIFAR
# reference config (detection weights are not in methods.md). Needs the stage-1 checkpoint
# (fasterrcnn_r101_ae_stage1.py).
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(iekd=dict(
    type='IEKDLoss', student='backbone.layer4', teacher='backbone.layer4',
    autoencoder_ckpt='work_dirs/fasterrcnn_r101_ae_stage1/epoch_4.pth', in_channels=512,
    teacher_channels=2048, factor_channels=512, teacher_hidden_channels=512, split='natural',
    distance='factor_transfer', w_inh=1.0, w_exp=1.0)))
