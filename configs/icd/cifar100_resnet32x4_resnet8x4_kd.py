# ICD + KD, resnet32x4 -> resnet8x4 on CIFAR-100: CE + 1 * KD(T=4) on the logits ('head.fc')
# + 1 * L_ICD on the pooled penultimate features (tap 'neck').
# Published top-1 (arXiv 2407.11802 v1): ICD+KD 74.99 (KD 73.33).
# RepDistiller protocol: 240 epochs, batch 64, SGD 0.05, wd 5e-4, x0.1 at 150/180/210.
_base_ = ['../_base_/distill/cifar100_resnet32x4_resnet8x4.py',
          '../_base_/schedules/cifar100_repdistiller_240e.py']
train_dataloader = dict(batch_size=64)
model = dict(losses=dict(
    icd=dict(type='ICDLoss', student='neck', teacher='neck', in_channels_s=256,
             in_channels_t=256, embed_dim=128, inv_weight=0.5, loss_weight=1.0),
    kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0, loss_weight=1.0)))
