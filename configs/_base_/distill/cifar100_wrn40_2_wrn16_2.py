# WRN-40-2 teacher -> WRN-16-2 student (RepDistiller's pair) on CIFAR-100.
_base_ = './cifar100.py'
model = dict(student='{{fileDirname}}/../../teachers/cifar100_wrn16_2.py',
             teacher='{{fileDirname}}/../../teachers/cifar100_wrn40_2.py',
             teacher_ckpt='work_dirs/cifar100_wrn40_2/epoch_200.pth')  # any trained WRN-40-2
