"""Every method config trains on real-pixel data: a few iterations through tools/train.py.

Each config runs as a user would run it, every override given through --cfg-options:
pretrained inits off, data paths at generated/packaged data, a short schedule. The generic
checks (every distillation term logged and finite, a student checkpoint) follow each run,
then the checks of its method (METHODS); IE-KD's stage-2 configs first train their stage 1.
The further configs of a pair (PAIRS) differ from their pair base only in their losses: all
of their loss entries also go on one Distiller built with the same overrides, which trains
one step in-process; every term must be finite and every loss's own trainable parts must get
a gradient.
"""
import glob
import json
import math
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import (assert_distill_terms_logged, flatten, offline_options, save_model_weights,
                 scalars, short_runtime, train_one_step, weights)
from mmkd.testing.offline import dotted, task_of


def train(config, work, options, runtime):
    run_tool(['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
              *flatten(options), *flatten(runtime)])
    return scalars(str(work))


def assert_finite(rows, key):
    assert rows and all(key in r and math.isfinite(r[key]) for r in rows), (key, rows)


@pytest.fixture(scope='session')
def teachers(tmp_path_factory):
    """``get(spec)``: a random teacher checkpoint (seed 1) for a teacher entry, saved once per
    entry and shared by the configs of one pair."""
    root, saved = tmp_path_factory.mktemp('teachers'), {}

    def get(spec):
        key = json.dumps(spec, sort_keys=True, default=str)
        if key not in saved:
            saved[key] = str(root / f'teacher_{len(saved)}.pth')
            save_model_weights(spec, saved[key], seed=1)
        return saved[key]
    return get


class Run:
    """One config's run: its overrides (changed by its method before training), then its
    logged rows and work folder."""

    def __init__(self, config, tmp_path, fashion_voc, fashion_mnist, teachers):
        self.config, self.tmp = config, tmp_path
        self.name = osp.basename(config)[:-3]
        self.cfg = Config.fromfile(config)
        self.task = task_of(self.cfg)
        self.options, teacher = offline_options(self.cfg, tmp_path, fashion_voc, fashion_mnist)
        if self.task == 'det':
            for part in self.options['train_dataloader']['dataset']['dataset'][
                    'datasets'].values():
                part['indices'] = 2  # 2 iterations of 2 images
        self.teacher_ckpt = teachers(teacher)
        self.options['model']['teacher_ckpt'] = self.teacher_ckpt
        self.runtime, self.student_ckpt = short_runtime(self.cfg)
        self.work = tmp_path / 'work'
        self.rows = []

    def train(self):
        self.rows = train(self.config, self.work, self.options, self.runtime)

    def overridden_cfg(self, with_runtime=False):
        """The config with the overrides a run gives ``tools/train.py`` (and its runtime)."""
        cfg = Config.fromfile(self.config)
        cfg.merge_from_dict(dotted(self.options))
        if with_runtime:
            cfg.merge_from_dict(dotted(self.runtime))
            cfg.work_dir = str(self.work)
        return cfg

    def train_one_step(self, losses):
        """The config with its overrides and ``losses``, one step in-process
        (:func:`e2e.train_one_step`)."""
        cfg = self.overridden_cfg()
        cfg.model.losses = losses
        return train_one_step(cfg)


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


# -- dense-prediction losses ---------------------------------------------------------------
def crosskd_after(run):
    """A random teacher's head disagrees with the student's at every prior: CrossKD > 0."""
    for row in run.rows:
        assert row['distill.loss_crosskd'] > 0, row


def ld_after(run):
    """LD is above zero exactly where the student's GFL head has positives, as its own box
    loss (a batch whose GT boxes are all below VOC's 32-pixel size limit has none)."""
    for row in run.rows:
        assert (row['distill.loss_ld'] > 0) == (row['loss_bbox'] > 0), row


def dist_after(run):
    """DIST lies in [0, tau^2 (2 beta + 2 gamma)] (Pearson correlations in [-1, 1])."""
    for name, entry in run.cfg.model.losses.items():
        entry = entry.get('logit_loss') or entry  # on RoI logits, through RoIKDLoss
        bound = entry.get('tau', 1.0) ** 2 * 2 * (entry.get('beta', 1.0)
                                                  + entry.get('gamma', 1.0))
        for row in run.rows:
            assert 0 <= row[f'distill.loss_{name}'] <= bound, (name, row)


DIST_CIFAR = osp.join(REPO, 'configs/dist/resnet50_resnet18_cifar100.py')


def test_dist_cifar_warm_up_keeps_a_new_head_from_blowing_up(tmp_path, fashion_mnist,
                                                             teachers):
    """mmpretrain's head starts at std 0.01, where DIST's (scale-free) Pearson gradient is
    thousands of times the cross-entropy's. Without its warm-up the CIFAR config's student
    cross-entropy jumps from chance (ln 10 = 2.3) to hundreds in one step; with it, it stays."""
    from mmengine.runner import Runner

    from mmkd.engine import prepare_cfg

    def student_ce(name, hooks):
        run = Run(DIST_CIFAR, tmp_path / name, None, fashion_mnist, teachers)  # cls: no VOC
        run.options['train_dataloader'].update(batch_size=32)
        run.options['train_dataloader']['dataset']['indices'] = 128  # 4 steps
        cfg = run.overridden_cfg(with_runtime=True)
        cfg.default_hooks.checkpoint.interval = -1  # the logged losses are all it needs
        if hooks is not None:
            cfg.custom_hooks = hooks
        Runner.from_cfg(prepare_cfg(cfg)).train()
        return [row['loss_student'] for row in scalars(str(run.work))]

    shipped = student_ce('warm_up', None)
    bare = student_ce('no_warm_up', [])
    assert len(shipped) == len(bare) == 4
    assert max(shipped) < 3.0, shipped
    assert max(bare[1:]) > 20.0, bare  # the hazard the warm-up is there for


def parts_after(run):
    """MGD, FGD, FBKD train their own parts (align convs, generators, GcBlocks, non-local
    blocks): saved in the run's checkpoint, left out of the student's."""
    full = weights(run.work / run.student_ckpt.replace('_student', ''))
    student = weights(run.work / run.student_ckpt)
    for name in run.cfg.model.losses:
        assert any(k.startswith(f'distill_losses.{name}.') for k in full), sorted(full)[:20]
    assert not any(k.startswith('distill_losses.') for k in student)


# Each method folder: (before training, after training), None where it needs nothing.
METHODS = {'lckd': (None, london_after), 'icd': (None, icd_after),
           'l2rkd': (l2rkd_before, l2rkd_after), 'iekd': (iekd_before, iekd_after),
           'cwd': (None, None), 'fitnet': (None, None), 'pkd': (None, None),
           'mgd': (None, parts_after), 'fgd': (None, parts_after), 'fbkd': (None, parts_after),
           'dist': (None, dist_after), 'ld': (None, ld_after),
           'crosskd': (None, crosskd_after)}
# Pair bases and their further method configs: each trains through tools/train.py, and
# together they train one step in-process (test_pair_configs_add_only_losses_that_train_together).
PAIRS = {
    'retinanet_r101_r18_voc': [
        'fitnet/retinanet_r101_r18_fpn_voc.py', 'cwd/retinanet_r101_r18_fpn_voc.py',
        'pkd/retinanet_r101_r18_fpn_voc.py', 'mgd/retinanet_r101_r18_fpn_voc.py',
        'lckd/retinanet_r101_r18_voc.py', 'fgd/retinanet_r101_r18_fpn_voc.py'],
    'gfl_r101_r18_voc': [
        'fitnet/gfl_r101_r18_fpn_voc.py', 'cwd/gfl_r101_r18_fpn_voc.py',
        'pkd/gfl_r101_r18_fpn_voc.py', 'mgd/gfl_r101_r18_fpn_voc.py',
        'lckd/gfl_r101_r18_voc.py', 'crosskd/gfl_r101_r18_fpn_voc.py'],
    'fasterrcnn_r101_r18_voc': [
        'fgd/fasterrcnn_r101_r18_fpn_voc.py', 'fbkd/fasterrcnn_r101_r18_fpn_voc.py'],
    'deeplabv3_r101_r18_voc': ['mgd/deeplabv3_r101_r18_voc.py', 'dist/deeplabv3_r101_r18_voc.py'],
}
PAIR_CONFIGS = {osp.join(REPO, 'configs', c) for group in PAIRS.values() for c in group}
CONFIGS = sorted({
    path for method in ('lckd', 'icd', 'l2rkd', 'iekd')
    for path in glob.glob(osp.join(REPO, 'configs', method, '*.py'))
    if not osp.basename(path).startswith('_') and 'ae_stage1' not in path} | PAIR_CONFIGS | {
    osp.join(REPO, 'configs', path) for path in (
        'cwd/fasterrcnn_r101_r18_fpn_voc.py', 'fitnet/fasterrcnn_r101_r18_fpn_voc.py',
        'crosskd/retinanet_r101_r18_fpn_voc.py', 'ld/gfl_r101_r18_fpn_voc.py',
        'mgd/fasterrcnn_r101_r18_fpn_voc.py', 'dist/fasterrcnn_r101_r18_roi_voc.py',
        'dist/resnet50_resnet18_cifar100.py')})
# what a method config takes from its pair base unchanged (it adds losses, maybe hooks)
SETTINGS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper',
            'param_scheduler', 'train_cfg')
# folders whose every config is trained here
COVERED = ('lckd', 'pkd', 'mgd', 'fgd', 'fbkd', 'dist', 'ld', 'crosskd')


def test_every_config_of_the_covered_methods_trains_here():
    """A new config in one of these folders, or one on the one-stage pairs, joins CONFIGS."""
    runs = set(CONFIGS)
    for path in glob.glob(osp.join(REPO, 'configs', '*', '*.py')):
        name = osp.basename(path)
        if name.startswith('_') or 'ae_stage1' in name or 'teachers' in path:
            continue
        if osp.basename(osp.dirname(path)) in COVERED or name.startswith(('retinanet', 'gfl')):
            assert path in runs, path


def unscoped(value):
    """``value`` without the ``_scope_`` keys mmengine adds when it loads mmdet:: configs."""
    if isinstance(value, dict):
        return {k: unscoped(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return [unscoped(v) for v in value]
    return value


def test_gfl_voc_teacher_is_mmdets_gfl_with_voc_classes():
    """configs/teachers/gfl_r101_fpn_1x_voc0712.py (mmdet has no VOC GFL): mmdet's GFL model
    at depth 101 with 20 classes, on the data and schedule of mmdet's VOC RetinaNet."""
    from mmengine.hub import get_config
    ours = Config.fromfile(osp.join(REPO, 'configs/teachers/gfl_r101_fpn_1x_voc0712.py'))
    gfl = unscoped(get_config('mmdet::gfl/gfl_r50_fpn_1x_coco.py').model.to_dict())
    gfl['backbone'].update(depth=101, init_cfg=dict(type='Pretrained',
                                                    checkpoint='torchvision://resnet101'))
    gfl['bbox_head']['num_classes'] = 20
    assert unscoped(ours.model.to_dict()) == gfl
    voc = get_config('mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py')
    for key in SETTINGS:
        assert unscoped(ours[key]) == unscoped(voc[key]), key


@pytest.mark.parametrize('config', CONFIGS,
                         ids=[osp.relpath(c, osp.join(REPO, 'configs'))[:-3] for c in CONFIGS])
def test_config_trains(config, tmp_path, fashion_voc, fashion_mnist, teachers):
    run = Run(config, tmp_path, fashion_voc, fashion_mnist, teachers)
    before, after = METHODS[osp.basename(osp.dirname(config))]
    if before:
        before(run)
    run.train()
    assert_distill_terms_logged(run.rows, [f'distill.loss_{n}' for n in run.cfg.model.losses])
    assert osp.isfile(run.work / run.student_ckpt)
    if after:
        after(run)


@pytest.mark.parametrize('pair', PAIRS)
def test_pair_configs_add_only_losses_that_train_together(pair, tmp_path, fashion_voc,
                                                         fashion_mnist, teachers):
    base = Config.fromfile(osp.join(REPO, 'configs/_base_/distill', pair + '.py'))
    losses = {}
    for config in PAIRS[pair]:
        cfg = Config.fromfile(osp.join(REPO, 'configs', config))
        for key in SETTINGS:  # a method config adds losses (and hooks) to its pair, no more
            assert cfg.get(key) == base.get(key), (config, key)
        assert {k: v for k, v in cfg.model.items() if k != 'losses'} == base.model, config
        assert not set(cfg.model.losses) & set(losses), config
        losses.update(cfg.model.losses)
    run = Run(base.filename, tmp_path, fashion_voc, fashion_mnist, teachers)
    logged, graded, with_params = run.train_one_step(losses)
    for name in losses:
        assert math.isfinite(logged[f'distill.loss_{name}']), (name, logged)
    assert with_params <= graded, (with_params, graded)
    assert math.isfinite(logged['loss'])
