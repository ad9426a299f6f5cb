# IE-KD CIFAR-100 protocol: 160 epochs, batch 128 (dataset base), SGD 0.1, x0.1 at 80 and 120,
# weight decay 5e-4, momentum 0.9 (momentum/Nesterov are not in methods.md: plain momentum 0.9).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[80, 120], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=160, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
