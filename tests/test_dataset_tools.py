"""Dataset tools: the deepforest tiles and the dataset check."""
import importlib.util
import os.path as osp
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, run_tool


def test_deepforest_tiles_are_a_voc_set_mmdet_reads(tmp_path):
    if importlib.util.find_spec('deepforest') is None:
        pytest.skip('deepforest wheel not installed (tools/setup_env.sh installs it)')
    out = tmp_path / 'trees'
    proc = run_tool(['tools/dataset_converters/tile_deepforest.py', str(out)])
    assert 'trainval: 41 images, 665 trees' in proc.stdout
    assert 'test: 12 images, 275 trees' in proc.stdout
    voc = out / 'VOC2007'
    for name in (voc / 'ImageSets/Main/test.txt').read_text().split():
        assert name.startswith('2019_YELL_2_541000_4977000_image_crop_')  # held-out site
    for xml in (voc / 'Annotations').iterdir():
        for box in ET.parse(xml).getroot().iter('bndbox'):
            x0, y0, x1, y1 = (float(box.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
            assert 0 <= x0 < x1 <= 399 and 0 <= y0 < y1 <= 399
    check = run_tool(['tools/dataset_converters/check_dataset.py',
                      osp.join(REPO, 'configs/_base_/datasets/deepforest_trees_det.py'),
                      '--cfg-options', f'train_dataloader.dataset.data_root={out}/',
                      f'val_dataloader.dataset.data_root={out}/',
                      f'test_dataloader.dataset.data_root={out}/'])
    assert 'train_dataloader: 41 samples, OK' in check.stdout
    assert 'val_dataloader: 12 samples, OK' in check.stdout


def test_check_dataset_names_the_missing_file(tmp_path, fashion_voc):
    config = osp.join(REPO, 'configs/_base_/datasets/fashion_voc_det.py')
    root = [f'{s}_dataloader.dataset.data_root={fashion_voc}/' for s in ('train', 'val', 'test')]
    ok = run_tool(['tools/dataset_converters/check_dataset.py', config, '--cfg-options', *root])
    assert 'train_dataloader: 8 samples, OK' in ok.stdout
    missing = tmp_path / 'nowhere'
    bad = run_tool(['tools/dataset_converters/check_dataset.py', config, '--cfg-options',
                    f'train_dataloader.dataset.data_root={missing}/'],
                   check=False)
    assert bad.returncode == 1
    assert f'train_dataloader: dataset folder not found: {missing}' in bad.stdout


def test_unpacking_fashion_mnist_names_the_missing_archive(tmp_path):
    from mmkd.testing import unpack_fashion_mnist
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=f'{empty}/train-images-idx3-ubyte.gz not found'):
        unpack_fashion_mnist(str(tmp_path / 'out'), str(empty))
