# MGD on the last backbone stage (C5, 512 -> 2048 channels through MGD's 1x1 align conv):
# DeepLabV3 R101 -> R18, VOC2012 + SBD aug, mmseg's 40k schedule. The authors' segmentation
# setting: alpha_mgd 2e-5, 75 % of the positions masked. Reference (MGD paper): Cityscapes
# DeepLabV3-R18 73.20 -> 76.31 mIoU.
_base_ = '../_base_/distill/deeplabv3_r101_r18_voc.py'
model = dict(losses=dict(mgd=dict(type='MGDLoss', student='backbone.layer4',
                                  teacher='backbone.layer4', student_channels=512,
                                  teacher_channels=2048, alpha_mgd=2e-5, lambda_mgd=0.75)))
