# IE-KD stage 1 for segmentation (adaptation): an auto-encoder on the frozen DeepLabV3 R101
# teacher's C5 (backbone.layer4, 2048 ch), VOC2012 + SBD aug; factor and hidden 512 ch as the
# detection setting, L1 reconstruction, constant lr, 8k iterations. No val/test loops.
# Its iter_8000.pth feeds deeplabv3_r101_r18_voc.py.
_base_ = 'mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(
    _delete_=True, type='mmkd.TeacherAutoEncoder',
    teacher='mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py',
    teacher_ckpt='checkpoints/deeplabv3_r101-d8_512x512_40k_voc12aug.pth',  # your R101 teacher
    tap='backbone.layer4',
    autoencoder=dict(in_channels=2048, factor_channels=512, hidden_channels=512),
    recon='l1')
param_scheduler = []  # constant lr (mmseg's SGD 0.01)
train_cfg = dict(max_iters=8000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
