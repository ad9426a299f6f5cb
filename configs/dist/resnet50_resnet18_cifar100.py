# DIST (inter- and intra-class Pearson relations of the logits): ResNet-50 -> ResNet-18 on
# CIFAR-100, mmpretrain's schedule. tau 4, beta = gamma = 2: our reading of the DIST paper's
# CIFAR-100 setting (its released code covers ImageNet: tau 1, total weight 2).
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
model = dict(losses=dict(dist=dict(type='DISTLoss', student='head.fc', teacher='head.fc',
                                   beta=2.0, gamma=2.0, tau=4.0)))
