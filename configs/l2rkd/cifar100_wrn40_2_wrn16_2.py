# L2RKD, WRN-40-2 -> WRN-16-2 on CIFAR-100, RepDistiller protocol (240 epochs, batch 64).
# Our reading of L2RKD (the paper's method text and code are not public; see README):
# with probability 0.7 a step distils on patch-mixed virtual samples only (KD, T=4, no
# labels), otherwise on the clean batch with 0.1 * CE + 0.9 * KD, as the authors' PE-BKD code.
# RepDistiller reference numbers for this pair: student 73.26, KD 74.92 (top-1 %).
_base_ = ['../_base_/distill/cifar100_wrn40_2_wrn16_2.py',
          '../_base_/schedules/cifar100_repdistiller_240e.py']
train_dataloader = dict(batch_size=64)
model = dict(
    student=dict(_delete_=True, cfg_path=_base_.model.student,
                 head=dict(loss=dict(loss_weight=0.1))),  # CE on clean steps
    step=dict(type='VirtualSampleStep', mode='patch', alpha=1.0, prob=0.7, grid=4),
    losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0,
                        loss_weight=0.9)))
