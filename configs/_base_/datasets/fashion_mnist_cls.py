# Fashion-MNIST classification with mmpretrain's FashionMNIST dataset (real, offline):
#   apt-get install dataset-fashion-mnist
#   python tools/dataset_converters/prepare_fashion_mnist.py data/fashion_mnist
dataset_type = 'FashionMNIST'
data_root = 'data/fashion_mnist/'
data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02])
train_pipeline = [dict(type='RandomCrop', crop_size=28, padding=2), dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128, num_workers=0,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
# mmpretrain 1.2's (Fashion-)MNIST picks its files by test_mode, not by split: without
# test_mode=True, split='test' reads the 60k training images.
val_dataloader = dict(
    batch_size=256, num_workers=0,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
