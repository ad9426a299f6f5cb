# FitNet hints from a teacher of another backbone family: Faster R-CNN Swin-T -> R18 on the
# four backbone stages, VOC07+12, mmdet's schedule. One 1x1 conv + BN connector per stage maps
# the student's 64/128/256/512 channels to the teacher's 96/192/384/768 (same strides).
_base_ = '../_base_/distill/fasterrcnn_swint_r18_voc.py'
model = dict(losses=dict(fitnet_stages=dict(
    type='FitNetLoss', student='backbone', teacher='backbone',
    connector=dict(type='ConvBNConnector', in_channels=[64, 128, 256, 512],
                   out_channels=[96, 192, 384, 768]))))
