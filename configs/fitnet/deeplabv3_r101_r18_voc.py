# FitNet on C5 (backbone.layer4): DeepLabV3 R101 -> R18, VOC2012 + SBD aug, mmseg's 40k
# schedule, a 1x1 conv + BN regressor from the student's 512 to the teacher's 2048 channels.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(fitnet=dict(
    type='FitNetLoss', student='backbone.layer4', teacher='backbone.layer4',
    connector=dict(type='ConvBNConnector', in_channels=512, out_channels=2048))))
