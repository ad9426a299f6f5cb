# IE-KD stage 1 for detection: an auto-encoder on the frozen Faster R-CNN R101 teacher's C5
# (backbone.layer4, 2048 ch), VOC07+12 trainval. The paper puts the auto-encoder on C5 (or on
# each FPN level); this config uses C5. Adaptation (not in methods.md): factor 512 ch and
# hidden 512 ch (a 4x reduction; the CIFAR code halves 64 -> 32) to keep the 3x3 convs on
# 2048 channels affordable; L1 reconstruction as the reference code; a constant lr as the
# CIFAR stage 1, but mmdet's VOC length and lr (4 epochs of RepeatDataset x3, SGD 0.01).
# No val/test loops. Its epoch_4.pth feeds fasterrcnn_r101_r18_voc.py.
_base_ = '../_base_/distill/fasterrcnn_r101_r18_voc.py'  # its teacher
model = dict(
    _delete_=True, type='mmkd.TeacherAutoEncoder', teacher=_base_.model.teacher,
    teacher_ckpt=_base_.model.teacher_ckpt, tap='backbone.layer4',
    autoencoder=dict(in_channels=2048, factor_channels=512, hidden_channels=512), recon='l1')
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = []  # constant lr
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=4)
val_cfg = val_dataloader = val_evaluator = None  # stage 1 only trains
test_cfg = test_dataloader = test_evaluator = None
