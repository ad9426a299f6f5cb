# Demo segmentation student: the teacher's DeepLabV3 on a ResNet-18 of 16 base channels
# (16-128; 4x fewer backbone FLOPs) with a 32-channel head, trained alone for 10 epochs
# (500 iterations, against the teacher's 1800: the accuracy benchmark trains 33 such students).
_base_ = ['./fashion_voc_seg_teacher.py']
width = 16
epochs = 10
model = dict(
    backbone=dict(stem_channels=width, base_channels=width),
    decode_head=dict(in_channels=8 * width, channels=32),
    auxiliary_head=dict(in_channels=4 * width, channels=32))
train_cfg = dict(max_epochs=epochs, val_interval=epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=0.0)]
default_hooks = dict(checkpoint=dict(interval=epochs))
