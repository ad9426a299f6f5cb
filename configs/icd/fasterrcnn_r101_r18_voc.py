# ICD on Faster R-CNN R101 -> R18, VOC07+12 trainval, VOC2007 test mAP, mmdet's VOC schedule.
# ADAPTATION: the paper (arXiv 2407.11802 v1) reports classification only (CIFAR-100, e.g.
# WRN-40-2 -> WRN-16-2 ICD 74.92 / ICD+KD 76.06; resnet32x4 -> resnet8x4 ICD+KD 74.99). Here
# L_ICD is applied to the globally pooled C5 feature ('backbone.layer4', 512 ch for R18,
# 2048 for R101), one embedding per image. Detection runs 2 images per GPU, so the in-batch
# negatives are all-gathered across ranks (gather=True). The weight (1.0) is the CIFAR one,
# not tuned for detection.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'
model = dict(losses=dict(icd=dict(
    type='ICDLoss', student='backbone.layer4', teacher='backbone.layer4', in_channels_s=512,
    in_channels_t=2048, embed_dim=128, inv_weight=0.5, gather=True, loss_weight=1.0)))
