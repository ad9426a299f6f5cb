# OFD (overhaul of feature distillation) on backbone stages C2-C5 (pre-ReLU): Faster R-CNN
# R101 -> R18, VOC07+12, mmdet's schedule. Margins from each teacher stage's last BN, 1x1 conv
# + BN connectors, stages weighted 1/2^(L-1-i), scaled as in OFD's segmentation code (1e-5 / B).
_base_ = ['../_base_/distill/fasterrcnn_r101_r18_voc.py', './_resnet101_resnet18_stages.py']
model = dict(losses=dict(ofd=_base_.ofd_r101_r18))
