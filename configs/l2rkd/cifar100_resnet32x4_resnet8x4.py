# L2RKD, resnet32x4 -> resnet8x4 on CIFAR-100, RepDistiller protocol (240 epochs, batch 64).
# Our reading of L2RKD (the paper's method text and code are not public; see README):
# with probability 0.7 a step distils on patch-mixed virtual samples only (KD, T=4, no
# labels), otherwise on the clean batch with 0.1 * CE + 0.9 * KD, as the authors' PE-BKD code.
# RepDistiller reference numbers for this pair: student 72.50, KD 73.33 (top-1 %).
_base_ = ['../_base_/datasets/cifar100_kd.py', '../_base_/schedules/cifar100_repdistiller_240e.py',
          'mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
train_dataloader = dict(batch_size=64)
model = dict(
    type='mmkd.Distiller',
    student=dict(cfg_path='{{fileDirname}}/../_base_/models/cifar/resnet8x4.py',
                 head=dict(loss=dict(loss_weight=0.1))),
    teacher='{{fileDirname}}/../_base_/models/cifar/resnet32x4.py',
    teacher_ckpt='work_dirs/cifar100_resnet32x4/epoch_200.pth',  # any trained resnet32x4 checkpoint
    virtual_samples=dict(mode='patch', alpha=1.0, prob=0.7, grid=4),
    losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0,
                        loss_weight=0.9)))
