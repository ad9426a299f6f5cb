# IE-KD stage 2 for detection: Faster R-CNN R101 -> R18 on C5 (backbone.layer4; student 512 ch,
# halves of 256 ch -> factors of 512 ch; teacher 2048 ch through the frozen stage-1 encoder),
# VOC07+12 trainval, VOC2007 test mAP, mmdet's VOC schedule. w_inh = w_exp = 1 as the CIFAR
# reference config (detection weights are not in methods.md). Needs the stage-1 checkpoint
# (fasterrcnn_r101_ae_stage1.py).
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
voc_frcnn = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
model = dict(
    _delete_=True, type='mmkd.Distiller',
    teacher=dict(cfg_path=voc_frcnn, backbone=dict(depth=101)),
    teacher_ckpt='checkpoints/faster-rcnn_r101_fpn_voc0712.pth',  # your trained R101 teacher
    student=dict(cfg_path=voc_frcnn, neck=dict(in_channels=[64, 128, 256, 512]), backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18'))),
    losses=dict(
        iekd=dict(type='IEKDLoss', student='backbone.layer4', teacher='backbone.layer4',
                  autoencoder_ckpt='work_dirs/fasterrcnn_r101_ae_stage1/epoch_4.pth',
                  in_channels=512, teacher_channels=2048, factor_channels=512,
                  teacher_hidden_channels=512, split='natural',
                  distance='factor_transfer', w_inh=1.0, w_exp=1.0)))
