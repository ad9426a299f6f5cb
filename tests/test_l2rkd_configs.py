"""Every L2RKD config trains through tools/train.py, with virtual-sample steps forced on."""
import glob
import math
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import flatten, offline_options, save_model_weights, scalars, short_runtime

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/l2rkd/*.py')))


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_l2rkd_config_trains_on_virtual_samples(config, tmp_path, fashion_voc, fashion_mnist):
    cfg = Config.fromfile(config)
    options, teacher = offline_options(cfg, tmp_path, fashion_voc, fashion_mnist)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    options['model'].update(teacher_ckpt=str(tmp_path / 'teacher.pth'),
                            virtual_samples=dict(prob=1.0))
    runtime, _ = short_runtime(cfg)
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
