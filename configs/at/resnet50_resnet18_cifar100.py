# Attention transfer (AT, Zagoruyko & Komodakis): ResNet-50 -> ResNet-18 on CIFAR-100 on the four
# backbone stages, p = 2, beta 1000 as RepDistiller's CIFAR setting; mmpretrain's schedule.
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
stages = [f'backbone.layer{i}' for i in (1, 2, 3, 4)]
model = dict(losses=dict(at=dict(type='ATLoss', student=stages, teacher=stages, p=2,
                                 loss_weight=1000.0)))
