"""Every ICD config trains a few iterations through tools/train.py on real-pixel data.

Same approach as tests/test_lckd_configs.py: pretrained inits are off, data paths point at
generated/packaged data, every override goes through --cfg-options.
"""
import glob
import math
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import flatten, offline_options, save_model_weights, scalars, short_runtime

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs/icd/*.py'))
                 if not osp.basename(p).startswith('_'))


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_icd_config_trains(config, tmp_path, fashion_voc, fashion_mnist):
    cfg = Config.fromfile(config)
    name = osp.basename(config)[:-3]
    options, teacher = offline_options(cfg, tmp_path, fashion_voc, fashion_mnist)
    if name.startswith('fasterrcnn'):
        for part in options['train_dataloader']['dataset']['dataset']['datasets'].values():
            part['indices'] = 2  # 2 iterations of 2 images
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    options['model']['teacher_ckpt'] = str(tmp_path / 'teacher.pth')
    runtime, student_ckpt = short_runtime(cfg)
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
    assert os.path.isfile(work / student_ckpt)
