# Faster R-CNN with a Swin-T backbone (ImageNet-1k pretrained) and FPN on VOC07+12, mmdet's VOC
# schedule with the AdamW settings of mmdet's Swin detectors. The teacher of another backbone
# family in configs/fitnet/fasterrcnn_swint_r18_voc.py and
# configs/multi_teacher/fasterrcnn_r101_swint_r18_voc.py; train it first:
#   python tools/train.py configs/teachers/fasterrcnn_swint_fpn_1x_voc0712.py \
#       --work-dir work_dirs/faster-rcnn_swin-t_fpn_voc0712
# and copy its last checkpoint to checkpoints/faster-rcnn_swin-t_fpn_voc0712.pth (or point
# the distillation configs' checkpoint at it).
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
swin_t = ('https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
          'swin_tiny_patch4_window7_224.pth')
model = dict(
    backbone=dict(
        _delete_=True, type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24], window_size=7, mlp_ratio=4, qkv_bias=True, qk_scale=None,
        drop_rate=0., attn_drop_rate=0., drop_path_rate=0.2, patch_norm=True,
        out_indices=(0, 1, 2, 3), with_cp=False, convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=swin_t)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'absolute_pos_embed': dict(decay_mult=0.),
                                    'relative_position_bias_table': dict(decay_mult=0.),
                                    'norm': dict(decay_mult=0.)}),
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, betas=(0.9, 0.999),
                   weight_decay=0.05))
