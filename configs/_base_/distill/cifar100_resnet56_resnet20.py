# ResNet-56 teacher -> ResNet-20 student on CIFAR-100.
_base_ = './cifar100.py'
model = dict(student='{{fileDirname}}/../../teachers/cifar100_resnet20.py',
             teacher='{{fileDirname}}/../../teachers/cifar100_resnet56.py',
             teacher_ckpt='work_dirs/cifar100_resnet56/epoch_200.pth')  # any trained ResNet-56
