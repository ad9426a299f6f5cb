# resnet32x4 teacher -> resnet8x4 student (RepDistiller's pair) on CIFAR-100.
_base_ = './cifar100.py'
model = dict(student='{{fileDirname}}/../../teachers/cifar100_resnet8x4.py',
             teacher='{{fileDirname}}/../../teachers/cifar100_resnet32x4.py',
             teacher_ckpt='work_dirs/cifar100_resnet32x4/epoch_200.pth')  # any trained resnet32x4
