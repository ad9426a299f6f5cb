"""``tools/train.py CONFIG --offline``: try any shipped config before downloading its data.

The config runs unchanged except for the overrides of :mod:`mmkd.testing.offline` (data
on the Fashion-MNIST-composed VOC set or Fashion-MNIST, made here once; heads with 10
classes; no pretrained inits; small images), a short schedule, and a teacher with random
weights and calibrated BN statistics saved in the work folder (the real teacher's
checkpoint has other heads); a config with named teachers gets one such file per teacher. It checks
the pipeline end to end: data, taps, connectors, losses, checkpoints. It says nothing about
accuracy.
"""
import os
import os.path as osp
import shutil
import tempfile

import torch
from mmengine.config import Config

from .compose_voc import make_fashion_voc
from .fashion_mnist import FASHION_ROOT, unpack_fashion_mnist
from .offline import (classification_options, detection_options, dotted, save_random_weights,
                      segmentation_options, task_of, voc_devkit)
from .several_teachers import options_per_teacher, teacher_views

SCHEDULE = dict(max_epochs=2, max_iters=40)  # a smoke run; --cfg-options change it
INPUTS = dict(det=(2, 3, 128, 128), seg=(2, 3, 128, 128), cls=(8, 1, 32, 32))  # BN calibration


def _once(path: str, make) -> str:
    """Make ``path`` with ``make(tmp)`` unless it exists; safe when ranks race."""
    if not osp.exists(path):
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        tmp = tempfile.mkdtemp(dir=osp.dirname(osp.abspath(path)), prefix='.tmp-')
        try:
            make(tmp)
            os.rename(tmp, path)
        except OSError:
            if not osp.exists(path):
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def offline_data(data_dir: str, task: str) -> str:
    """The offline set a task reads, made under ``data_dir`` the first time."""
    if not osp.isdir(FASHION_ROOT):
        raise FileNotFoundError(
            f'--offline needs Fashion-MNIST at {FASHION_ROOT}: install the Debian package '
            f'dataset-fashion-mnist (make setup does)')
    if task == 'cls':
        return _once(osp.join(data_dir, 'fashion_mnist'), unpack_fashion_mnist) + '/'
    return _once(osp.join(data_dir, 'fashion_voc'), lambda out: make_fashion_voc(
        out, num_train=64, num_test=32, img_size=128, max_objects=3, seed=0))


def _short_schedule(cfg: Config) -> dict:
    loop = cfg.train_cfg
    if 'max_epochs' in loop:
        epochs = min(loop.max_epochs, SCHEDULE['max_epochs'])
        return dict(train_cfg=dict(max_epochs=epochs, val_interval=1),
                    default_hooks=dict(checkpoint=dict(interval=1)))
    iters = min(loop.max_iters, SCHEDULE['max_iters'])
    return dict(train_cfg=dict(max_iters=iters, val_interval=iters),
                default_hooks=dict(checkpoint=dict(interval=iters),
                                   logger=dict(interval=min(10, iters))))


def _random_autoencoder(losses: dict, work_dir: str) -> dict:
    """IE-KD stage 2 reads stage 1's encoder: random encoders of the same shape."""
    from mmkd.models.autoencoder import FactorEncoder
    changes = {}
    for name, entry in losses.items():
        if str(entry.get('type', '')).split('.')[-1] != 'IEKDLoss':
            continue
        encoder = FactorEncoder(entry['teacher_channels'], entry.get('factor_channels', 32),
                                entry.get('teacher_hidden_channels'))
        path = osp.join(work_dir, f'offline_autoencoder_{name}.pth')
        torch.save({'state_dict': {f'autoencoder.encoder.{k}': v
                                   for k, v in encoder.state_dict().items()}}, path)
        changes[name] = dict(autoencoder_ckpt=path)
    return changes


def offline_config(cfg: Config, data_dir: str = 'data/offline') -> Config:
    """``cfg`` changed to run on the offline data (see the module docstring)."""
    views = teacher_views(cfg)  # the config itself, or one view per named teacher
    task = task_of(next(iter(views.values())))
    data = offline_data(data_dir, task)
    work_dir = cfg.work_dir
    os.makedirs(work_dir, exist_ok=True)

    def make_options(view):
        if task == 'det':
            return detection_options(view, voc_devkit(data, data_dir))
        if task == 'seg':
            return segmentation_options(view, data)
        return classification_options(view, data, indices=512)

    ckpts = []

    def save(teacher, name):
        ckpts.append(osp.join(work_dir, 'offline_random_teacher' +
                              (f'_{name}.pth' if name else '.pth')))
        save_random_weights(teacher, ckpts[-1], seed=0, calibrate=INPUTS[task])
        return ckpts[-1]

    options = options_per_teacher(cfg, make_options, save)
    options['model']['losses'] = _random_autoencoder(cfg.model.get('losses', {}), work_dir)
    options.update(_short_schedule(cfg))
    cfg.merge_from_dict(dotted(options))
    print(f'[--offline] {cfg.filename}: {task} on {data}, {dotted(_short_schedule(cfg))}; the '
          f'teacher{"s are" if len(ckpts) > 1 else " is"} random ({", ".join(ckpts)}): this '
          f'run checks the pipeline, not accuracy')
    return cfg
