# FitNet hint on the middle stage (layer3): ResNet-50 -> ResNet-18 on CIFAR-100, a 1x1 conv + BN
# regressor, beta 100 as RepDistiller's CIFAR setting; mmpretrain's schedule.
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
model = dict(losses=dict(fitnet=dict(
    type='FitNetLoss', student='backbone.layer3', teacher='backbone.layer3', loss_weight=100.0,
    connector=dict(type='ConvBNConnector', in_channels=256, out_channels=1024))))
