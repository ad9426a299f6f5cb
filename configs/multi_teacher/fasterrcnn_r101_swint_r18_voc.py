# Two teachers for one Faster R-CNN R18 student, VOC07+12, mmdet's schedule: channel-wise
# distillation (CWD, tau 1, weight 10) of the FPN levels from the R101 Faster R-CNN, and FitNet
# hints on the four backbone stages from the Swin-T Faster R-CNN (1x1 conv + BN connectors map
# 64/128/256/512 to 96/192/384/768 channels). Each teacher loads its own checkpoint and runs
# only as far as its own taps (R101 to its FPN, Swin-T to its last stage); each loss names the
# teacher it reads with teacher_name. State keys: teachers.r101.*, teachers.swin.*.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'  # student, R101 teacher, data, schedule
swin_t = '{{fileDirname}}/../teachers/fasterrcnn_swint_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller', student=_base_.model.student,
    teachers=dict(
        r101=dict(model=_base_.model.teacher, ckpt=_base_.model.teacher_ckpt),
        swin=dict(model=swin_t,
                  ckpt='checkpoints/faster-rcnn_swin-t_fpn_voc0712.pth')),  # your Swin-T
    losses=dict(
        cwd_fpn=dict(type='ChannelWiseDivergence', teacher_name='r101', student='neck',
                     teacher='neck', tau=1.0, loss_weight=10.0),
        fitnet_stages=dict(
            type='FitNetLoss', teacher_name='swin', student='backbone', teacher='backbone',
            connector=dict(type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                           out_channels=[96, 192, 384, 768]))))
