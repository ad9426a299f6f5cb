"""Every L2RKD config trains through tools/train.py, with virtual-sample steps forced on."""
import glob
import math
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import save_model_weights, scalars
from test_lckd_configs import (classification_options, detection_options, flatten,
                               segmentation_options, voc_devkit)

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/l2rkd/*.py')))


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_l2rkd_config_trains_on_virtual_samples(config, tmp_path, fashion_voc):
    cfg = Config.fromfile(config)
    name = osp.basename(config)
    if name.startswith('fasterrcnn'):
        options, teacher = detection_options(cfg, voc_devkit(fashion_voc, tmp_path), tmp_path)
    elif name.startswith('deeplab'):
        options, teacher = segmentation_options(cfg, fashion_voc)
    else:
        data = tmp_path / 'fashion_mnist'
        run_tool(['tools/dataset_converters/prepare_fashion_mnist.py', str(data)])
        options, teacher = classification_options(cfg, str(data) + '/')
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    options['model'].update(teacher_ckpt=str(tmp_path / 'teacher.pth'),
                            virtual_samples=dict(prob=1.0))
    by_epoch = not name.startswith('deeplab')
    runtime = {'train_cfg': dict(max_epochs=1, val_interval=1) if by_epoch else
               dict(max_iters=2, val_interval=2),
               'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(
                   by_epoch=by_epoch, interval=1 if by_epoch else 2)),
               'log_processor': dict(window_size=1), 'param_scheduler': [],
               'val_dataloader': dict(dataset=dict(indices=2)),
               'test_dataloader': dict(dataset=dict(indices=2))}
    work = tmp_path / 'work'
    run_tool(['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
              *flatten(options), *flatten(runtime)])
    rows = scalars(str(work))
    term = [k for k in rows[0] if k.startswith('distill.loss_')]
    assert len(term) == 1
    for row in rows:  # every step was a virtual one: distillation only, no label loss
        assert math.isfinite(row[term[0]]) and row[term[0]] > 0
        assert row['loss_student'] == 0.0
        assert row['loss'] == pytest.approx(row[term[0]], rel=1e-4)
