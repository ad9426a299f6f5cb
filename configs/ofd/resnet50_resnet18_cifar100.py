# OFD (overhaul of feature distillation) on the four backbone stages (pre-ReLU): ResNet-50 ->
# ResNet-18 on CIFAR-100, mmpretrain's schedule. Margins from each teacher stage's last BN, 1x1
# conv + BN connectors, stages weighted 1/2^(L-1-i), 1e-3 / B as OFD's CIFAR code.
_base_ = '../_base_/distill/cifar100_resnet50_resnet18.py'
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
model = dict(losses=dict(ofd=dict(
    type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-3, level_weights='geometric',
    teacher_bn=[f'backbone.layer{i}.{n - 1}.bn3' for i, n in ((1, 3), (2, 4), (3, 6), (4, 3))],
    connector=dict(type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                   out_channels=[256, 512, 1024, 2048]))))
