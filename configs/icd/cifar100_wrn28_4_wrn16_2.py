# ICD, WRN-28-4 -> WRN-16-2 on CIFAR-100 (the LONDON pair; not a pair the ICD paper reports):
# CE + 1 * L_ICD on the pooled penultimate features, RepDistiller protocol.
_base_ = ['../_base_/distill/cifar100_wrn28_4_wrn16_2.py',
          '../_base_/schedules/cifar100_repdistiller_240e.py']
train_dataloader = dict(batch_size=64)
model = dict(losses=dict(icd=dict(
    type='ICDLoss', student='neck', teacher='neck', in_channels_s=128, in_channels_t=256,
    embed_dim=128, inv_weight=0.5, loss_weight=1.0)))
