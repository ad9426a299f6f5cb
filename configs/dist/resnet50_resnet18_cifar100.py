# DIST (inter- and intra-class Pearson relations of the logits): ResNet-50 -> ResNet-18 on
# CIFAR-100, mmpretrain's schedule. tau 4, beta = gamma = 2: our reading of the DIST paper's
# CIFAR-100 setting (its released code covers ImageNet: tau 1, total weight 2).
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
model = dict(losses=dict(dist=dict(type='DISTLoss', student='head.fc', teacher='head.fc',
                                   beta=2.0, gamma=2.0, tau=4.0)))
# A Pearson correlation is scale-free, so its gradient grows as 1 / the spread of the student's
# logits, and mmpretrain's head starts at std 0.01: at lr 0.1 without a warm-up the first steps
# wreck the student (docs/accuracy.md, DIST on cls). DIST's weight rises from 0 to 1 over the
# first 391 iterations, one CIFAR-100 epoch at batch 128.
custom_hooks = [dict(type='mmkd.DistillLossWeightHook', by_epoch=False,
                     schedules=dict(dist=dict(type='linear', start=0.0, end=1.0, stop=391)))]
