"""Demo and test scaffolding stays off ``import mmkd``'s path; its pipeline overrides find
transforms by type."""
import ast
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from conftest import REPO
from mmkd.testing.offline import (detection_options, detector_heads, dotted, light_detector,
                                  pipeline_at, segmentation_options)
from mmkd.testing.pipeline import changes_by_type

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='mmdet.Resize', scale=(1000, 600)),
            dict(type='RandomFlip'), dict(type='PackDetInputs')]


def test_import_mmkd_leaves_out_the_scaffolding():
    code = ('import sys, mmkd\n'
            'print(sorted(m for m in sys.modules if m.startswith("mmkd")))')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, 'PYTHONPATH': REPO})
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert 'mmkd.datasets.checks' in modules and 'mmkd.registry' in modules
    scaffolding = ('testing', 'offline', 'compose_voc', 'fashion_mnist')
    assert not [m for m in modules if set(m.split('.')) & set(scaffolding)], modules


def test_transforms_are_found_by_type():
    assert changes_by_type(PIPELINE, {'Resize': dict(scale=(64, 64))}, 'x') == {
        '1': dict(scale=(64, 64))}
    with pytest.raises(ValueError, match=r"cfg\.py: a\.pipeline has no 'Pad' transform"):
        changes_by_type(PIPELINE, {'Pad': dict(size=(64, 64))}, 'cfg.py: a.pipeline')
    twice = PIPELINE[:2] + [dict(type='Resize')]
    with pytest.raises(ValueError, match=r"has 2 \(positions \[1, 2\]\), expected one"):
        changes_by_type(twice, {'Resize': {}}, 'x')


@pytest.mark.parametrize('config, options', [
    ('configs/lckd/fasterrcnn_r101_r18_voc.py', lambda cfg: detection_options(cfg, 'devkit')),
    ('configs/lckd/deeplabv3_r101_r18_voc.py', lambda cfg: segmentation_options(cfg, 'voc')),
    ('configs/ld/gfl_r101_r18_fpn_voc.py', lambda cfg: detection_options(cfg, 'devkit')),
])
def test_offline_overrides_change_the_named_transforms(config, options):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict(dotted(options(cfg)[0]))
    loaders = [cfg.val_dataloader.dataset, cfg.test_dataloader.dataset]
    train = cfg.train_dataloader.dataset
    loaders += train.dataset.datasets if 'dataset' in train else train.datasets
    for dataset in loaders:
        changed = {t.type.split('.')[-1] for t in dataset.pipeline
                   if (128, 128) in (t.get('scale'), t.get('crop_size'), t.get('size')) or
                   t.get('scale') == (256, 128)}
        assert changed in ({'Resize'}, {'RandomResize', 'RandomCrop', 'Pad'}), dataset.pipeline


def test_offline_heads_get_the_fashion_classes_on_two_and_one_stage_detectors():
    heads = {}
    for pair in ('fasterrcnn', 'retinanet', 'gfl'):
        cfg = Config.fromfile(osp.join(REPO, f'configs/_base_/distill/{pair}_r101_r18_voc.py'))
        heads[pair] = detector_heads(cfg.model.teacher)
        assert detector_heads(cfg.model.student) == heads[pair]
        options, teacher = detection_options(cfg, 'devkit')
        head = teacher['roi_head']['bbox_head'] if pair == 'fasterrcnn' else teacher['bbox_head']
        assert head['num_classes'] == 10
    assert heads['fasterrcnn'] == light_detector()
    assert heads['retinanet'] == heads['gfl'] == dict(bbox_head=dict(num_classes=10))
    with pytest.raises(ValueError, match='neither a roi_head nor a bbox_head'):
        detector_heads(dict(type='MaskFormer', panoptic_head=dict(num_things_classes=80)))


def test_a_missing_transform_names_the_config_and_the_type(tmp_path):
    path = tmp_path / 'my_config.py'
    path.write_text("val_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImage')]))")
    cfg = Config.fromfile(str(path))
    where = re.escape(f'{path}: val_dataloader.dataset.pipeline')
    with pytest.raises(ValueError, match=rf"{where} has no 'Resize' transform to change; "
                       r"its transforms are \['LoadImage'\]"):
        pipeline_at(cfg, 'val_dataloader.dataset', {'Resize': dict(scale=(64, 64))})


def _pytest_with_free_space_need(need, basetemp):
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--basetemp',
         str(basetemp), 'tests/test_config_text.py'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, 'MMKD_TEST_MIN_FREE_GB': need})


def test_suite_stops_at_once_where_the_temp_folder_is_too_small(tmp_path):
    # --basetemp two folders below tmp_path, not made yet: the space of tmp_path's disk counts
    proc = _pytest_with_free_space_need('1e9', tmp_path / 'a' / 'base')
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert f'{tmp_path} has ' in proc.stdout and 'the suite needs 1e+09 GB there' in proc.stdout
    assert 'passed' not in proc.stdout  # not one test ran
    proc = _pytest_with_free_space_need('3GB', tmp_path / 'base')
    assert proc.returncode != 0 and 'passed' not in proc.stdout
    assert "MMKD_TEST_MIN_FREE_GB='3GB': expected a number of GB" in proc.stdout + proc.stderr
