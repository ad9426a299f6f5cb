# Faster R-CNN Swin-T teacher -> R18 student (FPN), VOC07+12 trainval, VOC2007 test mAP: a
# teacher of another backbone family. Swin-T's stages have 96/192/384/768 channels, the
# student's 64/128/256/512, at the same strides (4 to 32): backbone-stage methods need
# connectors (configs/fitnet/fasterrcnn_swint_r18_voc.py); both FPNs give 256 channels.
# The teacher is trained with configs/teachers/fasterrcnn_swint_fpn_1x_voc0712.py.
_base_ = './fasterrcnn_r101_r18_voc.py'
model = dict(teacher='{{fileDirname}}/../../teachers/fasterrcnn_swint_fpn_1x_voc0712.py',
             teacher_ckpt='checkpoints/faster-rcnn_swin-t_fpn_voc0712.pth')  # your Swin-T
