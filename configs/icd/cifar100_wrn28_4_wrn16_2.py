# ICD, WRN-28-4 -> WRN-16-2 on CIFAR-100 (the LONDON pair; not a pair the ICD paper reports):
# CE + 1 * L_ICD on the pooled penultimate features, RepDistiller protocol.
_base_ = './cifar100_wrn40_2_wrn16_2.py'
model = dict(
    teacher='{{fileDirname}}/../teachers/cifar100_wrn28_4.py',
    teacher_ckpt='work_dirs/cifar100_wrn28_4/epoch_200.pth',
    losses=dict(icd=dict(in_channels_t=256)))
