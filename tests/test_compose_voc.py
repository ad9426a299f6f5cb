"""Tests of the Fashion-MNIST loader and the composed VOC dataset (mmdet and mmseg reading it)."""
import gzip
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

import numpy as np
import pytest
from PIL import Image

from mmkd.testing import (FASHION_CLASSES, FASHION_PALETTE, fashion_det_metainfo,
                          fashion_seg_metainfo, load_fashion_mnist, make_fashion_voc)
from mmkd.testing.fashion_mnist import FASHION_ROOT

NUM_TRAIN, NUM_TEST, SIZE = 8, 4, 64


def _make(out_dir: str, seed: int = 0) -> dict:
    return make_fashion_voc(out_dir, num_train=NUM_TRAIN, num_test=NUM_TEST, img_size=SIZE,
                            seed=seed)


@pytest.fixture(scope='module')
def voc(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny dataset; returns its VOC2007 folder."""
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} absent: apt-get install dataset-fashion-mnist')
    return _make(str(tmp_path_factory.mktemp('fashion_voc')))['root']


def _ids(voc: str, name: str) -> List[str]:
    with open(osp.join(voc, 'ImageSets', f'{name}.txt')) as f:
        return f.read().split()


def _objects(voc: str, img_id: str) -> List[Tuple[str, List[int]]]:
    """(name, [xmin, ymin, xmax, ymax]) of each object in the XML, as written."""
    root = ET.parse(osp.join(voc, 'Annotations', f'{img_id}.xml')).getroot()
    assert [int(root.find(f'size/{k}').text) for k in ('width', 'height', 'depth')] == \
        [SIZE, SIZE, 3]
    objs = []
    for obj in root.iter('object'):
        assert obj.find('pose').text == 'Unspecified'
        assert obj.find('truncated').text == obj.find('difficult').text == '0'
        box = [int(obj.find(f'bndbox/{k}').text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
        objs.append((obj.find('name').text, box))
    return objs


def _files(voc: str) -> Dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(voc):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, voc)] = f.read()
    return out


def test_missing_or_bad_fashion_mnist(tmp_path) -> None:
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist') as e:
        load_fashion_mnist(missing)
    assert missing in str(e.value)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        make_fashion_voc(str(tmp_path / 'out'), fashion_root=missing)
    bad = tmp_path / 'bad'
    bad.mkdir()
    with pytest.raises(FileNotFoundError, match='t10k-images-idx3-ubyte.gz'):
        load_fashion_mnist(str(bad), 't10k')
    with gzip.open(bad / 't10k-images-idx3-ubyte.gz', 'wb') as f:
        f.write(b'\x00\x00\x08\x03' + b'\x00' * 12 + b'\x01' * 10)  # 0 images but 10 bytes
    with pytest.raises(ValueError, match='t10k-images-idx3-ubyte.gz'):
        load_fashion_mnist(str(bad), 't10k')


def test_load_fashion_mnist() -> None:
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} absent: apt-get install dataset-fashion-mnist')
    images, labels = load_fashion_mnist(split='t10k')
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000, ) and np.bincount(labels).tolist() == [1000] * 10


def test_deterministic_and_cached(voc: str, tmp_path) -> None:
    files = _files(voc)
    assert _make(str(tmp_path / 'same'))['skipped'] is False
    assert _files(str(tmp_path / 'same' / 'VOC2007')) == files
    assert _make(str(tmp_path / 'same'))['skipped'] is True
    other = _files(_make(str(tmp_path / 'same'), seed=1)['root'])  # regenerated in place
    assert other.keys() == files.keys()
    assert all(other[k] != files[k] for k in files if k.startswith('JPEGImages'))


def test_image_sets(voc: str) -> None:
    train, test = _ids(voc, 'Main/trainval'), _ids(voc, 'Main/test')
    assert len(train) == NUM_TRAIN and len(test) == NUM_TEST and not set(train) & set(test)
    assert _ids(voc, 'Segmentation/train') == train
    assert _ids(voc, 'Segmentation/val') == test


def test_boxes_match_masks(voc: str) -> None:
    for img_id in _ids(voc, 'Main/trainval') + _ids(voc, 'Main/test'):
        img = Image.open(osp.join(voc, 'JPEGImages', f'{img_id}.jpg'))
        assert img.mode == 'RGB' and img.size == (SIZE, SIZE)
        png = Image.open(osp.join(voc, 'SegmentationClass', f'{img_id}.png'))
        assert png.mode == 'P'
        assert png.getpalette()[:33] == [c for rgb in FASHION_PALETTE for c in rgb]
        mask = np.asarray(png)
        objs = _objects(voc, img_id)
        assert 1 <= len(objs) <= 4
        seg_labels = [FASHION_CLASSES.index(name) + 1 for name, _ in objs]
        assert sorted(set(np.unique(mask)) - {0}) == sorted(set(seg_labels))
        covered = np.zeros_like(mask, bool)
        for lbl, (_, (x0, y0, x1, y1)) in zip(seg_labels, objs):
            assert 1 <= x0 <= x1 <= SIZE and 1 <= y0 <= y1 <= SIZE
            inside = mask[y0 - 1:y1, x0 - 1:x1] == lbl  # VOC boxes: 1-based, inclusive
            # tight: the silhouette touches all four sides of its box
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
            covered[y0 - 1:y1, x0 - 1:x1] |= inside
        assert (covered == (mask > 0)).all()  # every labelled pixel lies in a box of its class


def test_mmdet_voc_dataset(voc: str) -> None:
    from mmdet.datasets import VOCDataset
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = VOCDataset(
            data_root=osp.dirname(voc),
            ann_file='VOC2007/ImageSets/Main/trainval.txt',
            data_prefix=dict(sub_data_root='VOC2007/'),
            metainfo=fashion_det_metainfo(),
            pipeline=[],
            test_mode=False)
    assert len(dataset) == NUM_TRAIN
    assert tuple(dataset.metainfo['classes']) == FASHION_CLASSES
    for i, img_id in enumerate(_ids(voc, 'Main/trainval')):
        info = dataset.get_data_info(i)
        assert info['img_path'] == osp.join(voc, 'JPEGImages', f'{img_id}.jpg')
        assert (info['width'], info['height']) == (SIZE, SIZE)
        objs = _objects(voc, img_id)
        assert len(info['instances']) == len(objs)
        for inst, (name, box) in zip(info['instances'], objs):
            assert inst['bbox_label'] == FASHION_CLASSES.index(name)
            assert inst['ignore_flag'] == 0
            assert inst['bbox'] == [v - 1 for v in box]


def test_mmseg_datasets(voc: str) -> None:
    """mmseg reads the masks with our metainfo through ``BaseSegDataset``.

    ``PascalVOCDataset`` itself rejects class names outside its 21 VOC ones (its
    ``get_label_map`` raises ValueError), so it is checked on the same files without
    ``metainfo``.
    """
    from mmseg.datasets import BaseSegDataset, PascalVOCDataset
    from mmseg.datasets.transforms import LoadAnnotations
    kwargs = dict(
        data_root=voc,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=[])
    dataset = BaseSegDataset(metainfo=fashion_seg_metainfo(), **kwargs)
    voc_dataset = PascalVOCDataset(**kwargs)
    assert len(dataset) == len(voc_dataset) == NUM_TRAIN
    assert tuple(dataset.metainfo['classes']) == ('background', ) + FASHION_CLASSES
    assert dataset.label_map is None
    for i, img_id in enumerate(_ids(voc, 'Segmentation/train')):
        info = dataset.get_data_info(i)
        assert info['img_path'] == osp.join(voc, 'JPEGImages', f'{img_id}.jpg')
        assert info['seg_map_path'] == osp.join(voc, 'SegmentationClass', f'{img_id}.png')
        assert voc_dataset.get_data_info(i)['seg_map_path'] == info['seg_map_path']
        gt = LoadAnnotations()(info)['gt_seg_map']
        assert (gt == np.asarray(Image.open(info['seg_map_path']))).all()


def test_scale_sets_the_garment_sizes(voc, tmp_path) -> None:
    """``scale`` bounds each drawn item's side (28 * scale pixels; its visible box is at most
    that); datasets written with the default keep their manifests (no ``scale`` entry)."""
    big = make_fashion_voc(str(tmp_path / 'big'), num_train=NUM_TRAIN, num_test=NUM_TEST,
                           img_size=128, max_objects=3, scale=(2.0, 4.0))
    small = make_fashion_voc(str(tmp_path / 'small'), num_train=NUM_TRAIN, num_test=NUM_TEST,
                             img_size=128, max_objects=3, scale=(1.0, 1.5))
    assert big['params']['scale'] == [2.0, 4.0] and 'scale' not in _make(str(tmp_path))['params']
    sides = {name: [max(x1 - x0, y1 - y0) + 1 for img_id in _ids(d['root'], 'Main/trainval')
                    for _, (x0, y0, x1, y1) in _objects128(d['root'], img_id)]
             for name, d in (('big', big), ('small', small))}
    assert max(sides['small']) <= 42 and max(sides['big']) <= 112
    assert np.mean(sides['big']) > 2 * np.mean(sides['small'])
    with pytest.raises(ValueError, match=r'scale=\(3.0, 2.0\)'):
        make_fashion_voc(str(tmp_path / 'bad'), scale=(3.0, 2.0))


def _objects128(voc: str, img_id: str) -> List[Tuple[str, List[int]]]:
    root = ET.parse(osp.join(voc, 'Annotations', f'{img_id}.xml')).getroot()
    return [(obj.find('name').text, [int(obj.find(f'bndbox/{k}').text)
                                     for k in ('xmin', 'ymin', 'xmax', 'ymax')])
            for obj in root.iter('object')]
