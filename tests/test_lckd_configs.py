"""Every LONDON config trains a few iterations through tools/train.py on real-pixel data.

Pretrained inits are off and data paths point at generated/packaged data; the detection
config is run exactly as a user would, with every override given through --cfg-options.
"""
import glob
import math
import os
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO, run_tool
from e2e import flatten, offline_options, save_model_weights, scalars, short_runtime

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs/lckd/*.py'))
                 if not osp.basename(p).startswith('_'))


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_london_config_trains(config, tmp_path, fashion_voc, fashion_mnist):
    cfg = Config.fromfile(config)
    options, teacher = offline_options(cfg, tmp_path, fashion_voc, fashion_mnist)
    save_model_weights(teacher, tmp_path / 'teacher.pth', seed=1)
    options['model']['teacher_ckpt'] = str(tmp_path / 'teacher.pth')
    runtime, student_ckpt = short_runtime(cfg)
    work = tmp_path / 'work'
    args = ['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
            *flatten(options), *flatten(runtime)]
    run_tool(args)
    rows = scalars(str(work))
    assert rows
    for row in rows:
        for key in ('distill.loss_ofd', 'distill.loss_london', 'lipschitz.london.student_0',
                    'lipschitz.london.teacher_0'):
            assert key in row and math.isfinite(row[key]), (key, row)
    assert rows[0]['distill.weight_london'] == 0.8  # setting a: 0.8 before 60% of training
    assert os.path.isfile(work / student_ckpt)
    out = run_tool(['tools/analysis/plot_lipschitz.py', str(work), '--out',
                    str(tmp_path / 'lip.png')])
    assert os.path.getsize(tmp_path / 'lip.png') > 1000, out.stdout
