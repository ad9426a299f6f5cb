"""Compose Fashion-MNIST items on canvases into a VOC-format detection + segmentation dataset.

Layout under ``out_dir/VOC2007`` (readable unchanged by mmdet's ``VOCDataset`` and mmseg's
``PascalVOCDataset`` given :func:`fashion_det_metainfo` / :func:`fashion_seg_metainfo`)::

    JPEGImages/<id>.jpg             RGB, img_size x img_size
    Annotations/<id>.xml            one <object> per item, 1-based inclusive <bndbox>
    SegmentationClass/<id>.png      palette PNG: 0 background, label + 1 on item silhouettes
    ImageSets/Main/{trainval,test}.txt
    ImageSets/Segmentation/{train,val}.txt   (train == trainval, val == test)
    mmkd_dataset.json               manifest; a matching one makes a rerun a no-op

An item's silhouette is its pixels brighter than ``SILHOUETTE_THRESHOLD`` after scaling.
Later items are drawn over earlier ones; every box is the tight extent of the item's
*visible* silhouette, so boxes and masks agree exactly. Index 255 (ignore) is never used.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Mapping, Optional, Tuple
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image

from .fashion_mnist import FASHION_CLASSES, FASHION_ROOT, load_fashion_mnist

FASHION_PALETTE = ((0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
                   (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
                   (210, 245, 60), (250, 190, 212))
SILHOUETTE_THRESHOLD = 20
MAX_IOU = 0.3
MIN_VISIBLE = 0.5  # items placed later may hide at most half of an earlier one
PLACEMENT_TRIES = 10
JPEG_QUALITY = 90
FORMAT_VERSION = 1
DEFAULT_SPLIT_SOURCE = {'train': 'train', 'test': 't10k'}

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1: 0-based, inclusive


def fashion_det_metainfo() -> dict:
    """The ``metainfo`` for mmdet's ``VOCDataset``: 10 classes, no background."""
    return dict(classes=FASHION_CLASSES, palette=list(FASHION_PALETTE[1:]))


def fashion_seg_metainfo() -> dict:
    """The ``metainfo`` for mmseg's ``PascalVOCDataset``: background + 10 classes."""
    return dict(classes=('background', ) + FASHION_CLASSES, palette=list(FASHION_PALETTE))


def _max_iou(box: Box, boxes: List[Box]) -> float:
    """The largest IoU of ``box`` with any of ``boxes`` (0 if none)."""
    if not boxes:
        return 0.0
    b = np.asarray(boxes)
    iw = np.minimum(b[:, 2], box[2]) - np.maximum(b[:, 0], box[0]) + 1
    ih = np.minimum(b[:, 3], box[3]) - np.maximum(b[:, 1], box[1]) + 1
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    areas = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    return float((inter / (areas + area - inter)).max())


def _compose(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray, size: int,
             max_objects: int, scale: Tuple[float, float] = (1.0, 2.5)
             ) -> Tuple[np.ndarray, np.ndarray, List[Tuple[int, Box]]]:
    """Draw one image; return ``(rgb (H, W, 3), seg (H, W), [(label, box), ...])``."""
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = rng.integers(0, 60, 3)
    if rng.random() < 0.5:  # dark noise instead of a plain colour
        canvas += rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
    inst = np.zeros((size, size), np.uint16)  # 1 + index of the item drawn on top, 0 = none
    windows: List[Tuple[int, int, int]] = []  # x, y, side of each placed item
    boxes: List[Box] = []  # full silhouette boxes, for the overlap test
    full: List[int] = []  # silhouette pixels of each placed item
    visible: List[int] = []  # the part of them not hidden by later items
    item_labels: List[int] = []
    min_scale, max_scale = scale[0], min(scale[1], size / 28)
    for _ in range(rng.integers(1, max_objects + 1)):
        k = rng.integers(len(images))
        side = int(28 * rng.uniform(min(min_scale, max_scale), max_scale))
        item = np.asarray(Image.fromarray(images[k]).resize((side, side), Image.BILINEAR))
        sil = item > SILHOUETTE_THRESHOLD
        rows, cols = sil.any(1).nonzero()[0], sil.any(0).nonzero()[0]
        if not len(rows):
            continue
        for _ in range(PLACEMENT_TRIES):
            x, y = (int(v) for v in rng.integers(0, size - side + 1, 2))
            box = (x + cols[0], y + rows[0], x + cols[-1], y + rows[-1])
            if _max_iou(box, boxes) > MAX_IOU:
                continue
            hidden = np.bincount(inst[y:y + side, x:x + side][sil], minlength=len(boxes) + 1)
            left = np.asarray(visible) - hidden[1:]
            if (left >= MIN_VISIBLE * np.asarray(full)).all():
                break
        else:
            continue
        alpha = item[..., None] * np.float32(1 / 255)
        region = canvas[y:y + side, x:x + side].astype(np.float32)
        region += (rng.uniform(80, 255, 3).astype(np.float32) - region) * alpha
        canvas[y:y + side, x:x + side] = region + 0.5  # a convex blend: stays in 0..255
        inst[y:y + side, x:x + side][sil] = len(boxes) + 1
        full.append(int(sil.sum()))
        visible = list(left) + [full[-1]]
        windows.append((x, y, side))
        boxes.append(box)
        item_labels.append(int(labels[k]))
    objects = []
    for i, (x, y, side) in enumerate(windows):
        mask = inst[y:y + side, x:x + side] == i + 1
        rows, cols = mask.any(1).nonzero()[0], mask.any(0).nonzero()[0]
        objects.append((item_labels[i],
                        (x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]), y + int(rows[-1]))))
    seg = np.array([0] + [lbl + 1 for lbl in item_labels], np.uint8)[inst]
    return canvas, seg, objects


def _annotation_xml(img_id: str, size: int, objects: List[Tuple[int, Box]]) -> str:
    """A VOC annotation; boxes are written 1-based inclusive as in VOC."""
    objs = ''.join(
        f'  <object>\n    <name>{escape(FASHION_CLASSES[lbl])}</name>\n'
        '    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n'
        '    <difficult>0</difficult>\n    <bndbox>\n'
        f'      <xmin>{x0 + 1}</xmin>\n      <ymin>{y0 + 1}</ymin>\n'
        f'      <xmax>{x1 + 1}</xmax>\n      <ymax>{y1 + 1}</ymax>\n'
        '    </bndbox>\n  </object>\n' for lbl, (x0, y0, x1, y1) in objects)
    return (f'<annotation>\n  <folder>VOC2007</folder>\n  <filename>{img_id}.jpg</filename>\n'
            f'  <size>\n    <width>{size}</width>\n    <height>{size}</height>\n'
            f'    <depth>3</depth>\n  </size>\n  <segmented>1</segmented>\n{objs}</annotation>\n')


def _write_split(voc: str, split: str, num: int, images: np.ndarray, labels: np.ndarray,
                 rng: np.random.Generator, size: int, max_objects: int,
                 scale: Tuple[float, float]) -> Tuple[List[str], int]:
    """Compose and write ``num`` images; return their ids and the number of objects."""
    palette = [c for rgb in FASHION_PALETTE for c in rgb]
    ids, num_objects = [], 0
    for i in range(num):
        img_id = f'{split}_{i:06d}'
        rgb, seg, objects = _compose(rng, images, labels, size, max_objects, scale)
        Image.fromarray(rgb).save(osp.join(voc, 'JPEGImages', f'{img_id}.jpg'),
                                  quality=JPEG_QUALITY)
        png = Image.fromarray(seg)
        png.putpalette(palette)
        png.save(osp.join(voc, 'SegmentationClass', f'{img_id}.png'))
        with open(osp.join(voc, 'Annotations', f'{img_id}.xml'), 'w') as f:
            f.write(_annotation_xml(img_id, size, objects))
        ids.append(img_id)
        num_objects += len(objects)
    return ids, num_objects


def make_fashion_voc(out_dir: str,
                     num_train: int = 1000,
                     num_test: int = 200,
                     img_size: int = 128,
                     max_objects: int = 4,
                     seed: int = 0,
                     split_source: Optional[Mapping[str, str]] = None,
                     fashion_root: str = FASHION_ROOT,
                     scale: Tuple[float, float] = (1.0, 2.5)) -> Dict:
    """Write (or keep, if its manifest matches) a Fashion-MNIST VOC dataset in ``out_dir``.

    Args:
        split_source: the Fashion-MNIST split ('train' or 't10k') that feeds each of our
            splits 'train' and 'test'; default ``{'train': 'train', 'test': 't10k'}``.
        fashion_root: folder of the Fashion-MNIST ``*.gz`` files.
        scale: an item's side is ``28 * uniform(*scale)`` pixels (at most the image).

    Returns:
        The manifest (parameters, ``num_objects`` per split) plus ``root`` (the VOC2007
        folder) and ``skipped`` (True when an existing matching dataset was kept).
    """
    if img_size < 28 or max_objects < 1 or num_train < 1 or num_test < 1:
        raise ValueError('need img_size >= 28 and max_objects, num_train, num_test >= 1')
    if not 1.0 <= scale[0] <= scale[1]:
        raise ValueError(f'need 1 <= scale[0] <= scale[1], got scale={scale}')
    source = dict(DEFAULT_SPLIT_SOURCE, **(split_source or {}))
    params = dict(format=FORMAT_VERSION, seed=seed, num_train=num_train, num_test=num_test,
                  img_size=img_size, max_objects=max_objects, split_source=source)
    if tuple(scale) != (1.0, 2.5):  # datasets written before the option keep their manifests
        params['scale'] = list(scale)
    voc = osp.join(out_dir, 'VOC2007')
    manifest_file = osp.join(voc, 'mmkd_dataset.json')
    if osp.isfile(manifest_file):
        with open(manifest_file) as f:
            manifest = json.load(f)
        num_jpg = len(os.listdir(osp.join(voc, 'JPEGImages')))
        if manifest.get('params') == params and num_jpg == num_train + num_test:
            return dict(manifest, root=voc, skipped=True)
    if osp.isdir(voc):
        shutil.rmtree(voc)
    for sub in ('JPEGImages', 'Annotations', 'SegmentationClass', 'ImageSets/Main',
                'ImageSets/Segmentation'):
        os.makedirs(osp.join(voc, sub))
    ids, num_objects = {}, {}
    for index, (split, num) in enumerate((('train', num_train), ('test', num_test))):
        images, labels = load_fashion_mnist(fashion_root, source[split])
        rng = np.random.default_rng([seed, index])
        ids[split], num_objects[split] = _write_split(voc, split, num, images, labels, rng,
                                                      img_size, max_objects, scale)
    for name, split in (('Main/trainval', 'train'), ('Main/test', 'test'),
                        ('Segmentation/train', 'train'), ('Segmentation/val', 'test')):
        with open(osp.join(voc, 'ImageSets', f'{name}.txt'), 'w') as f:
            f.write(''.join(f'{i}\n' for i in ids[split]))
    manifest = dict(params=params, num_objects=num_objects)
    with open(manifest_file, 'w') as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    return dict(manifest, root=voc, skipped=False)
