# IE-KD stage 2, ResNet-56 -> ResNet-20 on CIFAR-100: CE + inheritance/exploration losses on
# the last stage (layer3, 64 ch: halves of 32 ch -> factors of 32 ch), w_inh = w_exp = 1,
# factor-transfer distance, natural split. Needs the stage-1 checkpoint
# (cifar100_resnet56_ae_stage1.py). Protocol: 160 epochs, batch 128, SGD 0.1 x0.1 at 80/120.
# The paper's published number for this pair is not in methods.md (not quoted here).
_base_ = ['../_base_/distill/cifar100_resnet56_resnet20.py',
          '../_base_/schedules/cifar100_iekd_160e.py']
model = dict(losses=dict(iekd=dict(
    type='IEKDLoss', student='backbone.layer3', teacher='backbone.layer3',
    autoencoder_ckpt='work_dirs/cifar100_resnet56_ae_stage1/epoch_30.pth', in_channels=64,
    teacher_channels=64, factor_channels=32, split='natural', distance='factor_transfer',
    w_inh=1.0, w_exp=1.0)))
