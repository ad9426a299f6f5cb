"""Every method config trains a few iterations through tools/train.py on real-pixel data.

Each config runs as a user would run it, every override given through --cfg-options:
pretrained inits off, data paths at generated/packaged data, a short schedule. The generic
checks (every distillation term logged and finite, a student checkpoint) follow each run,
then the checks of its method (METHODS); IE-KD's stage-2 configs first train their stage 1.
"""
import glob
import math
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import (assert_distill_terms_logged, flatten, offline_options, save_model_weights,
                 scalars, short_runtime, weights)
from mmkd.testing.offline import task_of


def train(config, work, options, runtime):
    run_tool(['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
              *flatten(options), *flatten(runtime)])
    return scalars(str(work))


def assert_finite(rows, key):
    assert rows and all(key in r and math.isfinite(r[key]) for r in rows), (key, rows)


class Run:
    """One config's run: its overrides (changed by its method before training), then its
    logged rows and work folder."""

    def __init__(self, config, tmp_path, fashion_voc, fashion_mnist):
        self.config, self.tmp = config, tmp_path
        self.name = osp.basename(config)[:-3]
        self.cfg = Config.fromfile(config)
        self.task = task_of(self.cfg)
        self.options, teacher = offline_options(self.cfg, tmp_path, fashion_voc, fashion_mnist)
        if self.task == 'det':
            for part in self.options['train_dataloader']['dataset']['dataset'][
                    'datasets'].values():
                part['indices'] = 2  # 2 iterations of 2 images
        self.teacher_ckpt = str(tmp_path / 'teacher.pth')
        save_model_weights(teacher, self.teacher_ckpt, seed=1)
        self.options['model']['teacher_ckpt'] = self.teacher_ckpt
        self.runtime, self.student_ckpt = short_runtime(self.cfg)
        self.work = tmp_path / 'work'
        self.rows = []

    def train(self):
        self.rows = train(self.config, self.work, self.options, self.runtime)


# -- LONDON -------------------------------------------------------------------------------
def london_after(run):
    for row in run.rows:
        for key in ('distill.loss_ofd', 'distill.loss_london', 'lipschitz.london.student_0',
                    'lipschitz.london.teacher_0'):
            assert key in row and math.isfinite(row[key]), (key, row)
    assert run.rows[0]['distill.weight_london'] == 0.8  # setting a: 0.8 before 60% of training
    out = run_tool(['tools/analysis/plot_lipschitz.py', str(run.work), '--out',
                    str(run.tmp / 'lip.png')])
    assert os.path.getsize(run.tmp / 'lip.png') > 1000, out.stdout


# -- ICD ----------------------------------------------------------------------------------
def icd_after(run):
    with_kd = run.name.endswith('_kd')
    terms = ['distill.loss_icd'] + (['distill.loss_kd'] if with_kd else [])
    for row in run.rows:
        for key in terms:
            assert key in row and math.isfinite(row[key]), (key, row)
        assert with_kd or 'distill.loss_kd' not in row
        if 'loss_student' in row:  # classification: the total is CE + ICD (+ KD)
            total = row['loss_student'] + sum(row[k] for k in terms)
            assert row['loss'] == pytest.approx(total, abs=2e-3), row


# -- L2RKD --------------------------------------------------------------------------------
def l2rkd_before(run):
    run.options['model']['step'] = dict(prob=1.0)  # every step a virtual one


def l2rkd_after(run):
    term = [k for k in run.rows[0] if k.startswith('distill.loss_')]
    assert len(term) == 1
    for row in run.rows:  # every step was a virtual one: distillation only, no label loss
        assert math.isfinite(row[term[0]]) and row[term[0]] > 0
        assert row['loss_student'] == 0.0
        assert row['loss'] == pytest.approx(row[term[0]], rel=1e-4)


# -- IE-KD: stage 1 (teacher auto-encoder), then the config (stage 2) ---------------------
STAGE1 = {'cifar100_resnet56_resnet20': 'cifar100_resnet56_ae_stage1',
          'fasterrcnn_r101_r18_voc': 'fasterrcnn_r101_ae_stage1',
          'deeplabv3_r101_r18_voc': 'deeplabv3_r101_ae_stage1'}


def iekd_before(run):
    stage1 = osp.join(REPO, 'configs/iekd', STAGE1[run.name] + '.py')
    options = {k: v for k, v in run.options.items()  # stage 1 has no val/test loops
               if not k.startswith(('val_', 'test_'))}
    options['model'] = dict(teacher=run.options['model']['teacher'],
                            teacher_ckpt=run.teacher_ckpt)
    log = dict(logger=dict(interval=1))
    if run.task == 'cls':
        runtime = {'train_cfg': dict(max_epochs=2),
                   'default_hooks': dict(log, checkpoint=dict(interval=1)),
                   'log_processor': dict(window_size=1)}
        ckpt, small = 'epoch_1.pth', {}
    else:
        # small auto-encoders keep the checkpoints small; stage 2 reads the same sizes
        options['model']['autoencoder'] = dict(factor_channels=16, hidden_channels=16)
        small = dict(factor_channels=16, teacher_hidden_channels=16)
        seg = run.task == 'seg'
        runtime = {'train_cfg': dict(max_iters=2, val_interval=2) if seg else dict(max_epochs=1),
                   'default_hooks': dict(log, checkpoint=dict(interval=2 if seg else 1))}
        ckpt = 'iter_2.pth' if seg else 'epoch_1.pth'
    work = run.tmp / 'stage1'
    rows = train(stage1, work, options, runtime)
    assert_finite(rows, 'loss_recon')
    assert osp.isfile(work / ckpt)
    if run.task == 'cls':
        iekd_cifar_stage1_checks(rows, work, run.teacher_ckpt)
    run.options['model']['losses'] = {'iekd': dict(small, autoencoder_ckpt=str(work / ckpt))}


def iekd_cifar_stage1_checks(rows, work, teacher_ckpt):
    # A random-weight ResNet-56 gives layer3 features of ~1e3, which an auto-encoder does not
    # fit in 4 steps; tests/test_iekd.py checks that the loss decreases on a tiny teacher.
    assert len(rows) == 4  # 16 images, batch 8, 2 epochs
    first, last = weights(work / 'epoch_1.pth'), weights(work / 'epoch_2.pth')
    assert any(not torch.equal(first[k], last[k]) for k in first
               if k.startswith('autoencoder.encoder.'))
    assert any(k.startswith('autoencoder.decoder.') for k in first)
    for key, value in weights(teacher_ckpt).items():  # the teacher stays frozen
        assert torch.equal(last[f'teacher.{key}'], value), key
    assert not osp.exists(work / 'epoch_1_student.pth')  # not a distiller


def iekd_after(run):
    if run.task == 'cls':
        assert_finite(run.rows, 'loss_student')


# Each method folder: (before training, after training), None where it needs nothing.
METHODS = {'lckd': (None, london_after), 'icd': (None, icd_after),
           'l2rkd': (l2rkd_before, l2rkd_after), 'iekd': (iekd_before, iekd_after),
           'cwd': (None, None), 'fitnet': (None, None)}
CONFIGS = sorted(
    path for method in ('lckd', 'icd', 'l2rkd', 'iekd')
    for path in glob.glob(osp.join(REPO, 'configs', method, '*.py'))
    if not osp.basename(path).startswith('_') and 'ae_stage1' not in path) + [
    osp.join(REPO, 'configs', path) for path in (
        'cwd/fasterrcnn_r101_r18_fpn_voc.py', 'fitnet/fasterrcnn_r101_r18_fpn_voc.py')]


@pytest.mark.parametrize('config', CONFIGS,
                         ids=[osp.relpath(c, osp.join(REPO, 'configs'))[:-3] for c in CONFIGS])
def test_config_trains(config, tmp_path, fashion_voc, fashion_mnist):
    run = Run(config, tmp_path, fashion_voc, fashion_mnist)
    before, after = METHODS[osp.basename(osp.dirname(config))]
    if before:
        before(run)
    run.train()
    assert_distill_terms_logged(run.rows, [f'distill.loss_{n}' for n in run.cfg.model.losses])
    assert osp.isfile(run.work / run.student_ckpt)
    if after:
        after(run)
