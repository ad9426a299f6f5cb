"""Classification KD (ResNet-50 -> ResNet-18) on real Fashion-MNIST, 1 and 2 processes."""
import os.path as osp
import socket
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import (assert_distill_terms_logged, save_model_weights, scalars, short_run, use_data,
                 weights)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def kd_config(tmp_path, data_root, batch_size=8, num_train=64, norm='BN'):
    """The CIFAR-100 KD config on a Fashion-MNIST subset, 1 channel, 10 classes."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/kd/resnet50_resnet18_cifar100.py'))
    use_data(cfg, osp.join(REPO, 'configs/_base_/datasets/fashion_mnist_cls.py'), data_root)
    cfg.data_preprocessor = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/fashion_mnist_cls.py')).data_preprocessor
    cfg.train_dataloader.update(batch_size=batch_size, sampler=dict(type='DefaultSampler',
                                                                   shuffle=False))
    cfg.train_dataloader.dataset.update(indices=num_train, pipeline=[dict(type='PackInputs')])
    cfg.val_dataloader.dataset.indices = 32
    cfg.test_dataloader = cfg.val_dataloader
    short_run(cfg)
    norm_cfg = dict(type='GN', num_groups=8) if norm == 'GN' else dict(type='BN')
    student = dict(cfg.model.student, head=dict(in_channels=512, num_classes=10),
                   backbone=dict(depth=18, in_channels=1, norm_cfg=norm_cfg))
    teacher = dict(cfg_path=cfg.model.teacher, backbone=dict(in_channels=1),
                   head=dict(num_classes=10))
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    save_model_weights(dict(student, data_preprocessor=cfg.data_preprocessor),
                       tmp_path / 'student_init.pth', seed=2)
    cfg.model.update(student=student, teacher=teacher, teacher_ckpt=str(tmp_path / 'teacher.pth'),
                     student_ckpt=str(tmp_path / 'student_init.pth'))
    path = str(tmp_path / 'kd.py')
    cfg.dump(path)
    return path


def test_kd_trains_student_and_student_checkpoint_evaluates(tmp_path, fashion_mnist):
    cfg = kd_config(tmp_path, fashion_mnist)
    work = tmp_path / 'work'
    run_tool(['tools/train.py', cfg, '--work-dir', str(work)])
    rows = scalars(str(work))
    assert len(rows) == 8
    assert_distill_terms_logged(rows, ['distill.loss_kd', 'loss_student'])
    for row in rows:  # the logged total is the sum of its terms
        assert row['loss'] == pytest.approx(row['distill.loss_kd'] + row['loss_student'],
                                            rel=1e-4, abs=2e-4)
    state = weights(work / 'epoch_1.pth')
    teacher = weights(tmp_path / 'teacher.pth')
    assert all(torch.equal(state[f'teacher.{k}'], v) for k, v in teacher.items())
    init = weights(tmp_path / 'student_init.pth')
    assert not torch.equal(state['student.backbone.conv1.weight'], init['backbone.conv1.weight'])
    run_tool(['tools/export_student.py', str(work / 'epoch_1.pth'), str(tmp_path / 's.pth'),
              '--config', cfg])
    import mmpretrain
    test_py = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools', 'test.py')
    out = run_tool([test_py, str(tmp_path / 's.py'), str(tmp_path / 's.pth'),
                    '--work-dir', str(tmp_path / 'plain')], env={'PYTHONPATH': ''})
    assert 'accuracy/top1' in out.stdout + out.stderr


def test_two_process_gloo_run_matches_one_process(tmp_path, fashion_mnist):
    """Same global batch: 2 processes x 4 images against 1 process x 8 images.

    The student uses GroupNorm so that each sample's loss does not depend on how the
    batch is split; the frozen teacher's BN uses running statistics either way.
    """
    (tmp_path / 'one').mkdir()
    (tmp_path / 'two').mkdir()
    one = kd_config(tmp_path / 'one', fashion_mnist, batch_size=8, norm='GN')
    two = kd_config(tmp_path / 'two', fashion_mnist, batch_size=4, norm='GN')
    run_tool(['tools/train.py', one, '--work-dir', str(tmp_path / 'w1')])
    run_tool(['bash', 'tools/dist_train.sh', two, '2', '--work-dir', str(tmp_path / 'w2')],
             env={'PYTHON': sys.executable, 'PORT': str(free_port())})
    rows1, rows2 = scalars(str(tmp_path / 'w1')), scalars(str(tmp_path / 'w2'))
    assert len(rows1) == len(rows2) == 8
    for r1, r2 in zip(rows1, rows2):
        for key in ('loss', 'distill.loss_kd', 'loss_student'):
            assert r2[key] == pytest.approx(r1[key], rel=2e-3, abs=1e-4), (key, r1, r2)


def test_resume_continues_to_the_same_weights(tmp_path, fashion_mnist):
    """Checkpoints load under torch >= 2.6 (weights_only) and resume restores everything."""
    cfg = kd_config(tmp_path, fashion_mnist, num_train=32)
    full, part = tmp_path / 'full', tmp_path / 'part'
    run_tool(['tools/train.py', cfg, '--work-dir', str(full),
              '--cfg-options', 'train_cfg.max_epochs=2'])
    run_tool(['tools/train.py', cfg, '--work-dir', str(part),
              '--cfg-options', 'train_cfg.max_epochs=1'])
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(part), '--resume',
                    '--cfg-options', 'train_cfg.max_epochs=2'])
    assert 'resumed epoch: 1, iter: 4' in out.stdout + out.stderr
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    assert set(a) == set(b)
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-5, atol=1e-7), key
    assert [r['iter'] for r in scalars(str(part))] == [5, 6, 7, 8]


def test_stop_distill_hook_turns_distillation_off(tmp_path, fashion_mnist):
    cfg = Config.fromfile(kd_config(tmp_path, fashion_mnist, num_train=32))
    cfg.custom_hooks = [dict(type='mmkd.StopDistillHook', stop_iter=2)]
    cfg.dump(str(tmp_path / 'stop.py'))
    work = tmp_path / 'work'
    run_tool(['tools/train.py', str(tmp_path / 'stop.py'), '--work-dir', str(work)])
    rows = scalars(str(work))
    assert [r['distill.loss_kd'] > 0 for r in rows] == [True, True, False, False]
    assert all(r['loss'] == pytest.approx(r['loss_student'], abs=1e-4) for r in rows[2:])
