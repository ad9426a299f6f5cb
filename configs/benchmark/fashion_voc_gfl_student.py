# One-stage detection student of the accuracy benchmark: the teacher's GFL with a ResNet-18
# of 16 base channels (16-128; 4x fewer backbone FLOPs) and the teacher's FPN and head
# widths (64), as in the GFL R101 -> R18 configs (both 256): FPN features and head layers
# line up, which CrossKD's cross-head pass needs.
_base_ = ['./fashion_voc_gfl_teacher.py']
width = 16
model = dict(backbone=dict(base_channels=width),
             neck=dict(in_channels=[width, 2 * width, 4 * width, 8 * width]))
epochs = 10
train_cfg = dict(max_epochs=epochs, val_interval=epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=epochs, eta_min=0.0)]
default_hooks = dict(checkpoint=dict(interval=epochs))
