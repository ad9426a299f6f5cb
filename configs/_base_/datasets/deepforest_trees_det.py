# Detection of trees in real aerial images (the deepforest wheel's data, tiled to 400 px):
#   pip install --no-deps deepforest==2.1.0
#   python tools/dataset_converters/tile_deepforest.py data/deepforest_trees
# Read by mmdet's own VOCDataset with the loaders of fashion_voc_det.py; one class.
# Difficult (cut-off) trees are ignored.
_base_ = './fashion_voc_det.py'
data_root = 'data/deepforest_trees/'
metainfo = dict(classes=('Tree', ), palette=[(34, 139, 34)])
img_scale = (400, 400)
# fashion_voc_det.py's pipelines at 400 px; aerial images are also flipped vertically
train_pipeline = [dict(t, scale=img_scale) if t.type == 'Resize' else
                  dict(t, direction=['horizontal', 'vertical']) if t.type == 'RandomFlip' else t
                  for t in _base_.train_pipeline]
test_pipeline = [dict(t, scale=img_scale) if t.type == 'Resize' else t
                 for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo,
                                     filter_cfg=dict(min_size=4), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')  # mmdet's
test_evaluator = val_evaluator
