# Channel-wise distillation on the last stage (layer4, after a 1x1 conv + BN connector):
# ResNet-50 -> ResNet-18 on CIFAR-100, tau 4 and weight 3 (not a setting the CWD paper reports
# for classification); mmpretrain's schedule.
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
model = dict(losses=dict(cwd=dict(
    type='ChannelWiseDivergence', student='backbone.layer4', teacher='backbone.layer4', tau=4.0,
    loss_weight=3.0, connector=dict(type='ConvBNConnector', in_channels=512, out_channels=2048))))
