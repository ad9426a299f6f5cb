# Decoupled KD (DKD): ResNet-50 -> ResNet-18 on CIFAR-100, tau 4, alpha 1, beta 8 as the DKD
# paper's CIFAR setting; mmpretrain's schedule.
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
model = dict(losses=dict(dkd=dict(type='DKDLoss', student='head.fc', teacher='head.fc', tau=4.0,
                                  alpha=1.0, beta=8.0)))
