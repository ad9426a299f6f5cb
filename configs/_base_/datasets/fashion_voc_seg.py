# Segmentation on the Fashion-MNIST-composed VOC-format set (real pixels, made offline):
#   python tools/dataset_converters/make_fashion_voc.py data/fashion_voc
# Read by mmseg's BaseSegDataset (VOC layout: JPEGImages, SegmentationClass, ImageSets).
dataset_type = 'BaseSegDataset'  # PascalVOCDataset only accepts subsets of VOC's classes
data_root = 'data/fashion_voc/VOC2007'
metainfo = dict(
    classes=('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
             'Shirt', 'Sneaker', 'Bag', 'Ankle boot'),
    palette=[[0, 0, 0], [220, 20, 60], [119, 11, 32], [0, 0, 142], [0, 0, 230], [106, 0, 228],
             [0, 60, 100], [0, 80, 100], [0, 0, 70], [0, 0, 192], [250, 170, 30]])
crop_size = (128, 128)
data_preprocessor = dict(size=crop_size)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train.txt', pipeline=train_pipeline))
val_dataloader = dict(  # the same images and masks, val split, one at a time
    train_dataloader, batch_size=1, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(train_dataloader['dataset'], ann_file='ImageSets/Segmentation/val.txt',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
