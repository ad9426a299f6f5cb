"""Find the file at fault when a dataset fails to build (VOC-style det/seg, IDX, CIFAR)."""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Optional

IDX_FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
             't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')  # the layout mmpretrain reads


def _read_ids(path: str) -> list:
    with open(path) as f:
        return [line.strip().split()[0] for line in f if line.strip()]


def _check_voc_det(cfg: dict, parse: bool = True) -> Optional[str]:
    root = cfg.get('data_root', '') or ''
    ann = osp.join(root, cfg.get('ann_file', ''))
    sub = osp.join(root, (cfg.get('data_prefix') or {}).get('sub_data_root', ''))
    if not osp.isdir(sub):
        return f'dataset folder not found: {sub}'
    if not osp.isfile(ann):
        return f'annotation list not found: {ann}'
    ids = _read_ids(ann)
    if not ids:
        return f'annotation list {ann} lists no images'
    classes = _classes_of(cfg)
    names = set()
    for img_id in ids:
        xml = osp.join(sub, 'Annotations', f'{img_id}.xml')
        if not osp.isfile(xml):
            return f'annotation file listed in {ann} not found: {xml}'
        img = osp.join(sub, 'JPEGImages', f'{img_id}.jpg')
        if not osp.isfile(img):
            return f'image listed in {ann} not found: {img}'
        if not parse:
            continue
        try:
            tree = ET.parse(xml)
        except ET.ParseError as err:
            return f'annotation file {xml} is not valid XML: {err}'
        for obj in tree.getroot().findall('object'):
            box = obj.find('bndbox')
            if obj.find('name') is None or box is None or any(
                    box.find(k) is None for k in ('xmin', 'ymin', 'xmax', 'ymax')):
                return f'annotation file {xml} has an object without a name or a full bndbox'
            try:
                [float(box.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
            except (TypeError, ValueError):
                return f'annotation file {xml} has a non-numeric bndbox coordinate'
            names.add(obj.find('name').text)
    if parse and classes and names and not names & set(classes):
        return (f'no object in {osp.join(sub, "Annotations")} has a class of this dataset: '
                f'the files name {sorted(names)[:10]}, the dataset knows {list(classes)[:10]}; '
                f"set the dataset's metainfo=dict(classes=...) (for Fashion VOC data: "
                f'tools/train.py --offline)')
    return None


def _classes_of(cfg: dict) -> tuple:
    """The classes a dataset config keeps: its metainfo's, or its type's defaults."""
    classes = (cfg.get('metainfo') or {}).get('classes')
    if classes:
        return tuple(classes)
    from mmengine.registry import DATASETS, DefaultScope
    kind = str(cfg.get('type', ''))
    scope = DefaultScope.get_current_instance()
    if '.' not in kind and scope is not None:
        kind = f'{scope.scope_name}.{kind}'
    dataset_cls = DATASETS.get(kind)
    return tuple(getattr(dataset_cls, 'METAINFO', {}).get('classes', ()))


def _check_seg(cfg: dict, parse: bool = True) -> Optional[str]:
    root = cfg.get('data_root', '') or ''
    prefix = cfg.get('data_prefix') or {}
    img_dir = osp.join(root, prefix.get('img_path', ''))
    seg_dir = osp.join(root, prefix.get('seg_map_path', ''))
    for folder in (img_dir, seg_dir):
        if not osp.isdir(folder):
            return f'dataset folder not found: {folder}'
    if cfg.get('ann_file'):
        ann = osp.join(root, cfg['ann_file'])
        if not osp.isfile(ann):
            return f'annotation list not found: {ann}'
        if not _read_ids(ann):
            return f'annotation list {ann} lists no images'
        img_suffix = cfg.get('img_suffix', '.jpg')
        seg_suffix = cfg.get('seg_map_suffix', '.png')
        for img_id in _read_ids(ann):
            for path in (osp.join(img_dir, img_id + img_suffix),
                         osp.join(seg_dir, img_id + seg_suffix)):
                if not osp.isfile(path):
                    return f'file listed in {ann} not found: {path}'
    return None


def _check_idx(cfg: dict, parse: bool = True) -> Optional[str]:
    root = cfg.get('data_root', '') or ''
    if not osp.isdir(root):
        return f'dataset folder not found: {root}'
    for name in IDX_FILES:
        if not osp.isfile(osp.join(root, name)):
            return (f'{osp.join(root, name)} not found (prepare it with '
                    f'tools/dataset_converters/prepare_fashion_mnist.py)')
    return None


CHECKS = {'VOCDataset': _check_voc_det, 'BaseSegDataset': _check_seg,
          'PascalVOCDataset': _check_seg, 'MNIST': _check_idx, 'FashionMNIST': _check_idx}


def find_dataset_problem(cfg, parse: bool = True) -> Optional[str]:
    """A message naming the missing or malformed file of a dataset config, or None.

    ``parse=False`` only checks that listed files exist (cheap, done before training);
    ``parse=True`` also parses annotations (done when a dataset failed to build).
    """
    if not isinstance(cfg, dict):
        return None
    for key in ('datasets', 'dataset'):  # ConcatDataset, RepeatDataset, ClassBalanced...
        inner = cfg.get(key)
        for sub in (inner if isinstance(inner, (list, tuple)) else [inner]):
            problem = find_dataset_problem(sub, parse)
            if problem:
                return problem
    check = CHECKS.get(str(cfg.get('type', '')).split('.')[-1])
    return check(cfg, parse) if check else None
