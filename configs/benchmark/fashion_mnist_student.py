# The accuracy benchmark's cls student: a CIFAR ResNet-8 of 4-8-16 channels (5k weights, 35x
# fewer than the teacher), trained alone on the full Fashion-MNIST.
_base_ = ['./fashion_mnist_teacher.py']
model = dict(backbone=dict(depth=8, width=(4, 8, 16), stem_channels=4), head=dict(in_channels=16))
