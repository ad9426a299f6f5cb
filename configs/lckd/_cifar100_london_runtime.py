# LONDON's CIFAR-100 setting a (reference code): CE + OFD / B / 1000 + alpha * L_london / 200,
# alpha 0.8 for the first 60% of the epochs, then 0.2. The Lipschitz estimates are logged.
custom_hooks = [
    dict(type='mmkd.DistillLossWeightHook', by_epoch=True,
         schedules=dict(london=dict(type='step', milestones=[0.6], values=[0.8, 0.2]))),
    dict(type='mmkd.LipschitzMonitorHook'),
]
