# Demo detection student: the teacher's Faster R-CNN with a ResNet-18 of 16 base channels
# (16-128; 4x fewer backbone FLOPs) and a 32-channel FPN, trained alone for 10 epochs
# (500 iterations on the demo's 400 images).
_base_ = ['./fashion_voc_teacher.py']
width = 16
epochs = 10
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width, 2 * width, 4 * width, 8 * width], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=32),
                  bbox_head=dict(in_channels=32)))
train_cfg = dict(max_epochs=epochs, val_interval=epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=0.0)]
default_hooks = dict(checkpoint=dict(interval=epochs))
