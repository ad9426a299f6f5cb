"""IE-KD configs: stage 1 (teacher auto-encoder) then stage 2 (distillation) through
tools/train.py on real Fashion-MNIST pixels, as a user would run them (--cfg-options only)."""
import math
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import FASHION_ROOT, REPO, run_tool
from e2e import (classification_options, detection_options, flatten, save_model_weights,
                 scalars, segmentation_options, voc_devkit, weights)

CFG = osp.join(REPO, 'configs/iekd')
NO_EVAL = ('val_dataloader', 'test_dataloader')  # stage 1 has no val/test loops


def stage1_options(options, teacher_entry):
    """The data options of a distiller run, reduced to what stage 1 takes."""
    options = {k: v for k, v in options.items() if k not in NO_EVAL}
    options['model'] = {'teacher': teacher_entry}
    return options


def train(config, work, *options):
    run_tool(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *options])
    return scalars(str(work))


def assert_finite(rows, key):
    assert rows and all(key in r and math.isfinite(r[key]) for r in rows), (key, rows)


@pytest.fixture
def fashion_cls(tmp_path):
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing')
    data = tmp_path / 'fashion_mnist'
    run_tool(['tools/dataset_converters/prepare_fashion_mnist.py', str(data)])
    return str(data) + '/'


def test_cifar_stage1_then_stage2(tmp_path, fashion_cls):
    stage1 = osp.join(CFG, 'cifar100_resnet56_ae_stage1.py')
    stage2 = osp.join(CFG, 'cifar100_resnet56_resnet20.py')
    cfg = Config.fromfile(stage2)
    options, teacher = classification_options(cfg, fashion_cls, indices=16)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    ckpt = str(tmp_path / 'teacher.pth')

    opts1 = stage1_options(options, options['model']['teacher'])
    opts1['model']['teacher_ckpt'] = ckpt
    runtime1 = {'train_cfg': dict(max_epochs=2),
                'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(interval=1)),
                'log_processor': dict(window_size=1)}
    work1 = tmp_path / 'stage1'
    rows = train(stage1, work1, *flatten(opts1), *flatten(runtime1))
    # A random-weight ResNet-56 gives layer3 features of ~1e3, which an auto-encoder does not
    # fit in 4 steps; tests/test_iekd.py checks that the loss decreases on a tiny teacher.
    assert_finite(rows, 'loss_recon')
    assert len(rows) == 4  # 16 images, batch 8, 2 epochs
    first, last = weights(work1 / 'epoch_1.pth'), weights(work1 / 'epoch_2.pth')
    assert any(not torch.equal(first[k], last[k]) for k in first
               if k.startswith('autoencoder.encoder.'))
    assert any(k.startswith('autoencoder.decoder.') for k in first)
    for key, value in weights(ckpt).items():  # the teacher stays frozen
        assert torch.equal(last[f'teacher.{key}'], value), key
    assert not osp.exists(work1 / 'epoch_1_student.pth')  # not a distiller

    options['model']['teacher_ckpt'] = ckpt
    options['model']['losses'] = {'iekd': dict(autoencoder_ckpt=str(work1 / 'epoch_1.pth'))}
    runtime2 = {'train_cfg': dict(max_epochs=1, val_interval=1),
                'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(interval=1)),
                'param_scheduler': [],
                'val_dataloader': dict(dataset=dict(indices=2)),
                'test_dataloader': dict(dataset=dict(indices=2))}
    work2 = tmp_path / 'stage2'
    rows = train(stage2, work2, *flatten(options), *flatten(runtime2))
    assert_finite(rows, 'distill.loss_iekd')
    assert_finite(rows, 'loss_student')
    assert osp.isfile(work2 / 'epoch_1_student.pth')


def test_detection_stage1_then_stage2(tmp_path, fashion_voc):
    stage1 = osp.join(CFG, 'fasterrcnn_r101_ae_stage1.py')
    stage2 = osp.join(CFG, 'fasterrcnn_r101_r18_voc.py')
    cfg = Config.fromfile(stage2)
    options, teacher = detection_options(cfg, voc_devkit(fashion_voc, str(tmp_path)))
    for part in options['train_dataloader']['dataset']['dataset']['datasets'].values():
        part['indices'] = 2  # 4 images, 2 iterations
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    ckpt = str(tmp_path / 'teacher.pth')
    small = dict(factor_channels=16, hidden_channels=16)  # keeps the checkpoints small

    opts1 = stage1_options(options, options['model']['teacher'])
    opts1['model'].update(teacher_ckpt=ckpt, autoencoder=small)
    runtime1 = {'train_cfg': dict(max_epochs=1),
                'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(interval=1))}
    work1 = tmp_path / 'stage1'
    rows = train(stage1, work1, *flatten(opts1), *flatten(runtime1))
    assert_finite(rows, 'loss_recon')
    assert osp.isfile(work1 / 'epoch_1.pth')

    options['model']['teacher_ckpt'] = ckpt
    options['model']['losses'] = {'iekd': dict(
        autoencoder_ckpt=str(work1 / 'epoch_1.pth'), factor_channels=16,
        teacher_hidden_channels=16)}
    runtime2 = {'train_cfg': dict(max_epochs=1, val_interval=1),
                'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(interval=1)),
                'param_scheduler': [],
                'val_dataloader': dict(dataset=dict(indices=2)),
                'test_dataloader': dict(dataset=dict(indices=2))}
    work2 = tmp_path / 'stage2'
    rows = train(stage2, work2, *flatten(options), *flatten(runtime2))
    assert_finite(rows, 'distill.loss_iekd')
    assert os.path.isfile(work2 / 'epoch_1_student.pth')


def test_segmentation_stage1_then_stage2(tmp_path, fashion_voc):
    stage1 = osp.join(CFG, 'deeplabv3_r101_ae_stage1.py')
    stage2 = osp.join(CFG, 'deeplabv3_r101_r18_voc.py')
    options, teacher = segmentation_options(Config.fromfile(stage2), fashion_voc)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    ckpt = str(tmp_path / 'teacher.pth')
    small = dict(factor_channels=16, hidden_channels=16)  # keeps the checkpoints small

    opts1 = stage1_options(options, options['model']['teacher'])
    opts1['model'].update(teacher_ckpt=ckpt, autoencoder=small)
    runtime = {'train_cfg': dict(max_iters=2, val_interval=2),
               'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(interval=2))}
    work1 = tmp_path / 'stage1'
    rows = train(stage1, work1, *flatten(opts1), *flatten(runtime))
    assert_finite(rows, 'loss_recon')

    options['model']['teacher_ckpt'] = ckpt
    options['model']['losses'] = {'iekd': dict(
        autoencoder_ckpt=str(work1 / 'iter_2.pth'), factor_channels=16,
        teacher_hidden_channels=16)}
    runtime2 = dict(runtime, param_scheduler=[], val_dataloader=dict(dataset=dict(indices=2)),
                    test_dataloader=dict(dataset=dict(indices=2)))
    work2 = tmp_path / 'stage2'
    rows = train(stage2, work2, *flatten(options), *flatten(runtime2))
    assert_finite(rows, 'distill.loss_iekd')
    assert os.path.isfile(work2 / 'iter_2_student.pth')
