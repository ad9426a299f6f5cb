# IE-KD stage 1 for segmentation (adaptation): an auto-encoder on the frozen DeepLabV3 R101
# teacher's C5 (backbone.layer4, 2048 ch), VOC2012 + SBD aug; factor and hidden 512 ch as the
# detection setting, L1 reconstruction, constant lr, 8k iterations. No val/test loops.
# Its iter_8000.pth feeds deeplabv3_r101_r18_voc.py.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'  # its teacher
model = dict(
    _delete_=True, type='mmkd.TeacherAutoEncoder', teacher=_base_.model.teacher,
    teacher_ckpt=_base_.model.teacher_ckpt, tap='backbone.layer4',
    autoencoder=dict(in_channels=2048, factor_channels=512, hidden_channels=512), recon='l1')
param_scheduler = []  # constant lr (mmseg's SGD 0.01)
train_cfg = dict(max_iters=8000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
val_cfg = val_dataloader = val_evaluator = None  # stage 1 only trains
test_cfg = test_dataloader = test_evaluator = None
