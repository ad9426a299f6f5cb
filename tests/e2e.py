"""Helpers for end-to-end runs: read MMEngine's scalar logs and checkpoints."""
import glob
import json
import math
import os

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmkd.registry import MODELS

from mmkd.testing.offline import (classification_options, detection_options, dotted,
                                  save_random_weights, segmentation_options, task_of,
                                  voc_devkit)


def scalars(work_dir):
    """The training records of the newest run in ``work_dir`` (vis_data/scalars.json)."""
    files = sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    with open(files[-1]) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if 'loss' in r]


def assert_distill_terms_logged(rows, names):
    assert rows, 'no training iterations were logged'
    for name in names:
        values = [r[name] for r in rows if name in r]
        assert len(values) == len(rows), f'{name} missing from some logged iterations'
        assert all(math.isfinite(v) for v in values), f'{name} not finite: {values}'


def weights(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt['state_dict'] if 'state_dict' in ckpt else ckpt


def save_model_weights(spec, path, seed=0):
    """Build the model a distiller entry describes and save its (random) weights."""
    return save_random_weights(spec, str(path), seed)


def use_data(cfg: Config, data_cfg_path: str, data_root: str) -> None:
    """Replace the dataloaders and evaluators of ``cfg`` with those of a data config."""
    data = Config.fromfile(data_cfg_path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator'):
        cfg[key] = data[key]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    if 'data_preprocessor' in data:
        cfg.data_preprocessor = data.data_preprocessor


def short_run(cfg: Config, epochs: int = 1) -> None:
    """A few iterations, a checkpoint per epoch, a log line per iteration (not smoothed)."""
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=epochs)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.randomness = dict(seed=0)
    cfg.log_processor = dict(cfg.get('log_processor', None) or {}, window_size=1)
    cfg.pop('load_from', None)


def flatten(tree):
    """``{'a': {'b': 1}}`` -> ``['a.b=1']`` for --cfg-options."""
    return [f'{k}={v if isinstance(v, str) else repr(v)}' for k, v in dotted(tree).items()]


def offline_options(cfg, tmp_path, fashion_voc, fashion_mnist):
    """Data/model overrides running ``cfg`` on the offline real-pixel set of its task,
    and the teacher entry to save a checkpoint from."""
    task = task_of(cfg)
    if task == 'det':
        return detection_options(cfg, voc_devkit(fashion_voc, str(tmp_path)))
    if task == 'seg':
        return segmentation_options(cfg, fashion_voc)
    return classification_options(cfg, fashion_mnist, indices=16)


def short_runtime(cfg, iters=2):
    """One epoch (or ``iters`` iterations for mmseg's iteration schedules), a log line and
    a checkpoint at the end; returns ``(runtime options, name of the student checkpoint)``."""
    by_epoch = task_of(cfg) != 'seg'
    runtime = {'train_cfg': dict(max_epochs=1, val_interval=1) if by_epoch else
               dict(max_iters=iters, val_interval=iters),
               'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(
                   by_epoch=by_epoch, interval=1 if by_epoch else iters)),
               'log_processor': dict(window_size=1),
               'param_scheduler': [],
               'val_dataloader': dict(dataset=dict(indices=2)),
               'test_dataloader': dict(dataset=dict(indices=2))}
    return runtime, ('epoch_1_student.pth' if by_epoch else f'iter_{iters}_student.pth')


def train_one_step(cfg: Config):
    """Build a distillation config in-process as the Runner would (model and its init, train
    dataloader, optimizer) and train one step. Returns the logged values, the names of the
    losses whose own parameters got a nonzero gradient, and the names of those that have
    parameters."""
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor', None):  # mmseg and mmpretrain keep it at top level
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmkd'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', None) or 'mmkd'):
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    graded = set()
    for name, loss in model.distill_losses.items():
        for param in loss.parameters():
            param.register_hook(lambda grad, name=name: graded.add(name)
                                if bool(grad.abs().sum() > 0) else None)
    log_vars = model.train_step(batch, optim)
    with_params = {n for n, loss in model.distill_losses.items()
                   if next(loss.parameters(), None) is not None}
    return {k: float(v) for k, v in log_vars.items()}, graded, with_params
