"""Run a real distillation config on the offline real-pixel data, at a reduced size.

The real configs read VOC / Cityscapes / CIFAR-100 with pretrained inits. Tests and
benchmarks run them unchanged except for the overrides built here: the data points at the
Fashion-MNIST-composed VOC folders (detection, segmentation) or at Fashion-MNIST
(classification), images are ``size`` pixels, pretrained inits are off, and the heads
have the datasets' class counts. The teacher spec returned is the teacher's model entry
with the same changes, to build (and save) a teacher checkpoint from. Pipeline transforms
are changed by their ``type``: a config whose pipeline lacks one gets an error naming it.
"""
import os
import os.path as osp
from typing import Optional, Tuple

import torch
from mmengine.registry import DefaultScope

from mmkd.models.model_config import load_model_cfg
from mmkd.registry import MODELS
from .compose_voc import fashion_det_metainfo, fashion_seg_metainfo
from .pipeline import changes_by_type

TASKS = {'mmdet': 'det', 'mmseg': 'seg', 'mmpretrain': 'cls'}


def task_of(cfg) -> str:
    """'det', 'seg' or 'cls': the codebase the config's teacher comes from."""
    _, scope = load_model_cfg(cfg.model.teacher, 'teacher')
    scope = scope or cfg.get('default_scope', '')
    if scope not in TASKS:
        raise ValueError(f'cannot tell the task of a config whose teacher scope is {scope!r}')
    return TASKS[scope]


def save_random_weights(spec, path: str, seed: int = 0,
                        calibrate: Optional[Tuple[int, ...]] = None) -> dict:
    """Build the model a student/teacher entry describes, seeded, and save its weights
    (``init_weights`` is not called: pretrained inits cannot be downloaded offline).
    ``calibrate``, an input shape, sets every BatchNorm's statistics from a few batches of
    standard-normal inputs, so that the random network's features stay of unit scale in
    eval mode (fresh statistics let them grow layer by layer). Returns the state dict."""
    cfg, scope = load_model_cfg(spec, 'model')
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope(scope or 'mmdet'):
        model = MODELS.build(cfg)
        if calibrate is not None:
            _calibrate_bn(model, calibrate)
        state = model.state_dict()
    tmp = f'{path}.{os.getpid()}.tmp'  # ranks of a distributed run may write it at once
    torch.save({'state_dict': state}, tmp)
    os.replace(tmp, path)
    return state


def _calibrate_bn(model: torch.nn.Module, shape: Tuple[int, ...], batches: int = 4) -> None:
    """BN statistics of the feature extractor from ``batches`` standard-normal batches."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    kept = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a plain average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model.extract_feat(torch.randn(shape))
    for bn, momentum in zip(norms, kept):
        bn.momentum = momentum


def voc_devkit(voc_root: str, out_dir: str) -> str:
    """A VOCdevkit folder whose VOC2007 and VOC2012 both link to ``voc_root``/VOC2007,
    so that VOC07+12 configs read the generated set unchanged."""
    devkit = osp.join(out_dir, 'VOCdevkit')
    os.makedirs(devkit, exist_ok=True)
    for year in ('VOC2007', 'VOC2012'):
        link = osp.join(devkit, year)
        if not osp.lexists(link):
            try:
                os.symlink(osp.abspath(osp.join(voc_root, 'VOC2007')), link)
            except FileExistsError:  # another rank made it
                pass
    return devkit


def entry_with(spec, changes: dict) -> dict:
    """A student/teacher entry (config path or dict) with ``changes`` merged in."""
    if isinstance(spec, str):
        return dict(_delete_=True, cfg_path=spec, **changes)
    return changes


def student_entry(cfg, changes: dict) -> dict:
    """``{'student': entry with changes}``, or nothing for a model without a student (IE-KD
    stage 1 trains an auto-encoder on the teacher alone)."""
    if 'student' not in cfg.model:
        return {}
    return dict(student=entry_with(cfg.model.student, changes))


def _spec_with(spec, changes: dict) -> dict:
    """The entry itself with ``changes`` applied, for building the model directly."""
    base = dict(cfg_path=spec) if isinstance(spec, str) else dict(spec)
    return dict(base, **changes)


def pipeline_at(cfg, key: str, changes: dict) -> dict:
    """``changes`` (by transform type) to the pipeline of the dataset at dotted ``key``
    (numbers index lists), as the index-keyed dict that ``merge_from_dict`` applies."""
    name = getattr(cfg, 'filename', None) or 'the config'
    node = cfg
    try:
        for part in key.split('.'):
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
    except (KeyError, IndexError, TypeError, ValueError):
        raise ValueError(f'{name} has no dataset at {key}, where the offline overrides '
                         'expect one') from None
    return changes_by_type(node.get('pipeline') or [], changes, f'{name}: {key}.pipeline')


def _evaluated(cfg) -> list:
    """The splits a config evaluates on (IE-KD's stage 1 has none)."""
    return [split for split in ('val', 'test') if cfg.get(f'{split}_dataloader', None)]


def light_detector() -> dict:
    """Faster R-CNN settings for small images and 10 classes: fewer proposals and RoIs."""
    return dict(roi_head=dict(bbox_head=dict(num_classes=10, fc_out_channels=128)),
                train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100),
                               rcnn=dict(sampler=dict(num=64))),
                test_cfg=dict(rpn=dict(nms_pre=100, max_per_img=50)))


def detector_heads(spec, light: bool = True) -> dict:
    """Head overrides giving a detector entry the 10 Fashion classes: a two-stage detector's
    RoI head (with :func:`light_detector`'s smaller settings unless ``light=False``), or a
    one-stage detector's ``bbox_head`` (RetinaNet, GFL, ...)."""
    model, _ = load_model_cfg(spec, 'model')
    if 'roi_head' in model:
        return light_detector() if light else dict(roi_head=dict(bbox_head=dict(num_classes=10)))
    if 'num_classes' in (model.get('bbox_head', None) or {}):
        return dict(bbox_head=dict(num_classes=10))
    raise ValueError(f'cannot give the Fashion classes to a {model.get("type")} detector: it '
                     f'has neither a roi_head nor a bbox_head with num_classes')


def detection_options(cfg, devkit: str, size: int = 128, batch_size: int = 2,
                      light: bool = True) -> Tuple[dict, dict]:
    """Overrides for mmdet's VOC07+12 detector configs (RepeatDataset of two VOCs): Faster
    R-CNN and one-stage detectors alike (:func:`detector_heads`).

    ``light=False`` keeps the config's proposal and sampler settings (for timing).
    """
    heads = detector_heads(cfg.model.teacher, light)
    student_heads = detector_heads(cfg.model.student, light) if 'student' in cfg.model else {}
    voc = dict(data_root=devkit.rstrip('/') + '/', metainfo=fashion_det_metainfo())
    resize = {'Resize': dict(scale=(size, size))}
    train = 'train_dataloader.dataset.dataset.datasets'  # RepeatDataset of ConcatDataset
    train_vocs = {i: dict(voc, pipeline=pipeline_at(cfg, f'{train}.{i}', resize))
                  for i in ('0', '1')}
    test_voc = {split: dict(voc, pipeline=pipeline_at(cfg, f'{split}_dataloader.dataset', resize))
                for split in _evaluated(cfg)}
    loader = dict(num_workers=0, persistent_workers=False)
    options = {
        'train_dataloader': dict(loader, batch_size=batch_size, dataset=dict(
            times=1, dataset=dict(datasets=train_vocs))),
        **{f'{split}_dataloader': dict(loader, dataset=voc) for split, voc in test_voc.items()},
        # the per-class table with the Fashion class names
        **{f'{split}_evaluator': dict(type='mmkd.VOCMetric') for split in test_voc},
        'model': dict(**student_entry(cfg, dict(student_heads, backbone=dict(init_cfg=None))),
                      teacher=entry_with(cfg.model.teacher, heads)),
    }
    teacher = _spec_with(cfg.model.teacher, heads)
    return options, teacher


def segmentation_options(cfg, voc_root: str, size: int = 128, batch_size: int = 2
                         ) -> Tuple[dict, dict]:
    """Overrides for mmseg's VOC12-aug configs (ConcatDataset of VOC and SBD)."""
    seg = dict(type='BaseSegDataset', data_root=osp.join(voc_root, 'VOC2007'),
               metainfo=fashion_seg_metainfo(),
               data_prefix=dict(seg_map_path='SegmentationClass'))
    small = {'RandomResize': dict(scale=(2 * size, size)),
             'RandomCrop': dict(crop_size=(size, size)), 'Pad': dict(size=(size, size))}
    train = {i: dict(seg, ann_file='ImageSets/Segmentation/train.txt', pipeline=pipeline_at(
        cfg, f'train_dataloader.dataset.datasets.{i}', small)) for i in ('0', '1')}
    test = {split: dict(seg, ann_file='ImageSets/Segmentation/val.txt', pipeline=pipeline_at(
        cfg, f'{split}_dataloader.dataset', {'Resize': dict(scale=(size, size))}))
        for split in _evaluated(cfg)}
    classes = len(fashion_seg_metainfo()['classes'])
    heads = dict(decode_head=dict(num_classes=classes),
                 auxiliary_head=dict(num_classes=classes))
    loader = dict(num_workers=0, persistent_workers=False)
    options = {
        'data_preprocessor': dict(size=(size, size)),
        'train_dataloader': dict(loader, batch_size=batch_size, dataset=dict(datasets=train)),
        **{f'{split}_dataloader': dict(loader, dataset=data) for split, data in test.items()},
        'model': dict(**student_entry(cfg, dict(pretrained=None, **heads)),
                      teacher=entry_with(cfg.model.teacher, heads)),
    }
    teacher = _spec_with(cfg.model.teacher, dict(heads, data_preprocessor=dict(
        type='SegDataPreProcessor', size=(size, size))))
    return options, teacher


def classification_options(cfg, mnist_root: str, batch_size: int = 8,
                           indices=None) -> Tuple[dict, dict]:
    """Overrides for the CIFAR-100 configs: Fashion-MNIST (one channel, 10 classes; the
    CIFAR pipeline's 32-pixel crop pads the 28-pixel items). Evaluation reads the 10k test
    images: mmpretrain 1.2's (Fashion-)MNIST chooses its files by ``test_mode``, not
    ``split``."""
    data = dict(type='FashionMNIST', data_root=mnist_root.rstrip('/') + '/')
    if indices is not None:
        data['indices'] = indices
    one_channel = dict(backbone=dict(in_channels=1), head=dict(num_classes=10))
    options = {
        'data_preprocessor': dict(num_classes=10, mean=[72.94], std=[90.02]),
        'train_dataloader': dict(batch_size=batch_size, num_workers=0,
                                 persistent_workers=False, dataset=dict(data, split='train')),
        **{f'{split}_dataloader': dict(num_workers=0, persistent_workers=False,  # test_mode:
                                       dataset=dict(data, split='test', test_mode=True))
           for split in _evaluated(cfg)},
        'model': dict(**student_entry(cfg, one_channel),
                      teacher=entry_with(cfg.model.teacher, one_channel)),
    }
    teacher = _spec_with(cfg.model.teacher, dict(
        one_channel, data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor')))
    return options, teacher


def dotted(tree: dict, prefix: str = '') -> dict:
    """``{'a': {'b': 1}}`` -> ``{'a.b': 1}``, as ``--cfg-options`` and merge_from_dict take."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(dotted(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out
