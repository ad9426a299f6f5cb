"""Every ICD config trains a few iterations through tools/train.py on real-pixel data.

Same approach as tests/test_lckd_configs.py (whose helpers are reused): pretrained inits
are off, data paths point at generated/packaged data, every override goes through
--cfg-options.
"""
import glob
import math
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import FASHION_ROOT, REPO, run_tool
from e2e import save_model_weights, scalars
from test_lckd_configs import (classification_options, detection_options, flatten,
                               segmentation_options, voc_devkit)

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs/icd/*.py'))
                 if not osp.basename(p).startswith('_'))


@pytest.fixture(scope='module')
def fashion_mnist(tmp_path_factory):
    """The packaged Fashion-MNIST in the layout the classification configs read (once)."""
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing')
    data = tmp_path_factory.mktemp('fashion_mnist')
    run_tool(['tools/dataset_converters/prepare_fashion_mnist.py', str(data)])
    return str(data) + '/'


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_icd_config_trains(config, tmp_path, fashion_voc, fashion_mnist):
    cfg = Config.fromfile(config)
    name = osp.basename(config)[:-3]
    if name.startswith('fasterrcnn'):
        options, teacher = detection_options(cfg, voc_devkit(fashion_voc, tmp_path), tmp_path)
        for part in options['train_dataloader']['dataset']['dataset']['datasets'].values():
            part['indices'] = 2  # 2 iterations of 2 images
    elif name.startswith('deeplab'):
        options, teacher = segmentation_options(cfg, fashion_voc)
    else:
        options, teacher = classification_options(cfg, fashion_mnist)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    options['model']['teacher_ckpt'] = str(tmp_path / 'teacher.pth')
    by_epoch = not name.startswith('deeplab')  # mmseg's schedules count iterations
    runtime = {'train_cfg': dict(max_epochs=1, val_interval=1) if by_epoch else
               dict(max_iters=2, val_interval=2),
               'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(
                   by_epoch=by_epoch, interval=1 if by_epoch else 2)),
               'log_processor': dict(window_size=1),
               'param_scheduler': [],
               'val_dataloader': dict(dataset=dict(indices=2)),
               'test_dataloader': dict(dataset=dict(indices=2))}
    work = tmp_path / 'work'
    run_tool(['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
              *flatten(options), *flatten(runtime)])
    rows = scalars(str(work))
    assert rows
    with_kd = name.endswith('_kd')
    terms = ['distill.loss_icd'] + (['distill.loss_kd'] if with_kd else [])
    for row in rows:
        for key in terms:
            assert key in row and math.isfinite(row[key]), (key, row)
        assert with_kd or 'distill.loss_kd' not in row
        if 'loss_student' in row:  # classification: the total is CE + ICD (+ KD)
            total = row['loss_student'] + sum(row[k] for k in terms)
            assert row['loss'] == pytest.approx(total, abs=2e-3), row
    assert os.path.isfile(work / ('epoch_1_student.pth' if by_epoch else 'iter_2_student.pth'))
