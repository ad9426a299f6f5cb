# CIFAR-100 as the KD papers train it (OFD / LONDON / RepDistiller): reflect-pad 4, crop 32,
# flip; batch 128. Put the python version of CIFAR-100 in data/cifar100/ (see README).
dataset_type = 'CIFAR100'
data_preprocessor = dict(num_classes=100, mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7],
                         to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=128, num_workers=4,
    dataset=dict(type=dataset_type, data_root='data/cifar100', split='train',
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128, num_workers=4,
    dataset=dict(type=dataset_type, data_root='data/cifar100', split='test',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
