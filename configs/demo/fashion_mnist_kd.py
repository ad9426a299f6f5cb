# Demo distillation: the student above, distilled from the demo teacher with Hinton KD.
_base_ = ['./fashion_mnist_student.py']
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
model = dict(
    _delete_=True, type='mmkd.Distiller',
    student='{{fileDirname}}/fashion_mnist_student.py',
    teacher='{{fileDirname}}/fashion_mnist_teacher.py',
    teacher_ckpt='work_dirs/demo_cls/teacher/epoch_2.pth',
    losses=dict(kd=dict(type='KDLoss', student='head.fc', teacher='head.fc', tau=4.0,
                        loss_weight=1.0)))
