# Hinton KD (tau 4): ResNet-50 teacher -> ResNet-18 student on CIFAR-100, mmpretrain's schedule.
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
model = dict(losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0)))
