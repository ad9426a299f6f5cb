# Demo student trained alone: ResNet-18 layout with 8 base channels (16x fewer weights).
_base_ = ['./fashion_mnist_teacher.py']
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))
