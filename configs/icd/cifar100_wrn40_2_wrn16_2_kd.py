# ICD + KD, WRN-40-2 -> WRN-16-2 on CIFAR-100: CE + 1 * KD(T=4) on the logits ('head.fc')
# + 1 * L_ICD on the pooled penultimate features (tap 'neck').
# Published top-1 (arXiv 2407.11802 v1): ICD+KD 76.06 (KD 74.92, CRD+KD 75.64, ICD 74.92).
# RepDistiller protocol: 240 epochs, batch 64, SGD 0.05, wd 5e-4, x0.1 at 150/180/210.
_base_ = './cifar100_wrn40_2_wrn16_2.py'
model = dict(losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0,
                                 loss_weight=1.0)))
