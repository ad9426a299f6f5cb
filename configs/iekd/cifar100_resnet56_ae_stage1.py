# IE-KD stage 1: an auto-encoder on the frozen ResNet-56 teacher's last stage (layer3, 64 ch,
# 8x8), factor 32 ch. Reference code: 30 epochs, SGD lr 0.1 constant, L1 reconstruction
# (the paper writes squared L2: recon='l2'). Nothing to evaluate: no val/test loops.
# Its epoch_30.pth feeds stage 2 (cifar100_resnet56_resnet20.py, autoencoder_ckpt).
_base_ = '../_base_/distill/cifar100_resnet56_resnet20.py'  # its teacher
model = dict(
    _delete_=True, type='mmkd.TeacherAutoEncoder', teacher=_base_.model.teacher,
    teacher_ckpt=_base_.model.teacher_ckpt, tap='backbone.layer3',
    autoencoder=dict(in_channels=64, factor_channels=32), recon='l1')
# Momentum and weight decay are not given in methods.md: momentum 0.9, wd 5e-4 as stage 2.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = []  # constant lr
train_cfg = dict(by_epoch=True, max_epochs=30)
val_cfg = val_dataloader = val_evaluator = None  # stage 1 only trains
test_cfg = test_dataloader = test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=10))  # epoch_10/20/30.pth
