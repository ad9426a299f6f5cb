# ICD (Invariant Consistency Distillation, arXiv 2407.11802 v1), WRN-40-2 -> WRN-16-2 on CIFAR-100:
# CE + 1 * L_ICD on the pooled penultimate features (GlobalAveragePooling, tap 'neck').
# Published top-1: ICD 74.92 (KD 74.92, CRD+KD 75.64, ICD+KD 76.06; see *_kd.py for ICD+KD).
# RepDistiller protocol: 240 epochs, batch 64, SGD 0.05, wd 5e-4, x0.1 at 150/180/210.
_base_ = ['../_base_/distill/cifar100_wrn40_2_wrn16_2.py',
          '../_base_/schedules/cifar100_repdistiller_240e.py']
train_dataloader = dict(batch_size=64)
model = dict(losses=dict(icd=dict(
    type='ICDLoss', student='neck', teacher='neck', in_channels_s=128, in_channels_t=128,
    embed_dim=128, inv_weight=0.5, loss_weight=1.0)))
