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

from conftest import FASHION_ROOT, REPO, run_tool
from e2e import save_model_weights, scalars

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs/lckd/*.py'))
                 if not osp.basename(p).startswith('_'))
FASHION_DET_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                       'Sneaker', 'Bag', 'Ankle boot')


def flatten(tree, prefix=''):
    """``{'a': {'b': 1}}`` -> ``['a.b=1']`` for --cfg-options."""
    out = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += flatten(value, f'{prefix}{key}.')
        else:
            text = value if isinstance(value, str) else repr(value)
            out.append(f'{prefix}{key}={text}')
    return out


def light_detector():
    return dict(roi_head=dict(bbox_head=dict(num_classes=10, fc_out_channels=128)),
                train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100),
                               rcnn=dict(sampler=dict(num=64))),
                test_cfg=dict(rpn=dict(nms_pre=100, max_per_img=50)))


def detection_options(cfg, root, tmp_path):
    voc = dict(data_root=root + '/', metainfo=dict(classes=FASHION_DET_CLASSES))
    train_voc = dict(voc, pipeline={'2': dict(scale=(128, 128))})  # Resize
    test_voc = dict(voc, pipeline={'1': dict(scale=(128, 128))})
    options = {
        'train_dataloader': dict(batch_size=2, num_workers=0, persistent_workers=False,
                                 dataset=dict(times=1, dataset=dict(
                                     datasets={'0': train_voc, '1': train_voc}))),
        'val_dataloader': dict(num_workers=0, persistent_workers=False, dataset=test_voc),
        'test_dataloader': dict(num_workers=0, persistent_workers=False, dataset=test_voc),
        'model': dict(student=dict(light_detector(), backbone=dict(init_cfg=None)),
                      teacher=light_detector()),
    }
    teacher = dict(cfg.model.teacher)
    teacher.update(light_detector())
    return options, teacher


def classification_options(cfg, root):
    cls = dict(type='FashionMNIST', data_root=root, indices=16)  # CIFAR's pipeline fits 28 px
    one_channel = dict(backbone=dict(in_channels=1), head=dict(num_classes=10))
    options = {
        'data_preprocessor': dict(num_classes=10, mean=[72.94], std=[90.02]),
        'train_dataloader': dict(batch_size=8, num_workers=0, dataset=dict(cls, split='train')),
        'val_dataloader': dict(num_workers=0, dataset=dict(cls, split='test')),
        'test_dataloader': dict(num_workers=0, dataset=dict(cls, split='test')),
        'model': dict(student=override(cfg.model.student, one_channel),
                      teacher=override(cfg.model.teacher, one_channel)),
    }
    teacher = dict(cfg_path=cfg.model.teacher) if isinstance(cfg.model.teacher, str) \
        else dict(cfg.model.teacher)
    return options, dict(teacher, **one_channel,
                         data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'))


def override(spec, changes):
    """--cfg-options for a student/teacher entry given as a config path or a dict."""
    if isinstance(spec, str):
        return dict(_delete_=True, cfg_path=spec, **changes)
    return changes


def segmentation_options(cfg, root):
    seg = dict(type='BaseSegDataset', data_root=root + '/VOC2007',
               metainfo=dict(classes=('background', ) + FASHION_DET_CLASSES),
               data_prefix=dict(seg_map_path='SegmentationClass'))
    small = {'2': dict(scale=(256, 128)), '3': dict(crop_size=(128, 128)),
             '6': dict(size=(128, 128))}  # RandomResize, RandomCrop, Pad
    train = dict(seg, ann_file='ImageSets/Segmentation/train.txt', pipeline=small)
    test = dict(seg, ann_file='ImageSets/Segmentation/val.txt',
                pipeline={'1': dict(scale=(128, 128))})
    heads = dict(decode_head=dict(num_classes=11), auxiliary_head=dict(num_classes=11))
    options = {
        'data_preprocessor': dict(size=(128, 128)),
        'train_dataloader': dict(batch_size=2, num_workers=0, persistent_workers=False,
                                 dataset=dict(datasets={'0': train, '1': train})),
        'val_dataloader': dict(num_workers=0, persistent_workers=False, dataset=test),
        'test_dataloader': dict(num_workers=0, persistent_workers=False, dataset=test),
        'model': dict(student=dict(pretrained=None, **heads), teacher=dict(
            _delete_=True, cfg_path=cfg.model.teacher, **heads)),
    }
    return options, dict(cfg_path=cfg.model.teacher, **heads, data_preprocessor=dict(
        type='SegDataPreProcessor', size=(128, 128)))


def voc_devkit(fashion_voc, tmp_path):
    """A VOCdevkit-like folder whose VOC2007 and VOC2012 both hold the generated set."""
    devkit = tmp_path / 'VOCdevkit'
    devkit.mkdir()
    for year in ('VOC2007', 'VOC2012'):
        os.symlink(osp.join(fashion_voc, 'VOC2007'), devkit / year)
    return str(devkit)


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_london_config_trains(config, tmp_path, fashion_voc):
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing')
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
    options['model']['teacher_ckpt'] = str(tmp_path / 'teacher.pth')
    by_epoch = not name.startswith('deeplab')  # mmseg's schedules count iterations
    runtime = {'train_cfg': dict(max_epochs=1, val_interval=1) if by_epoch else
               dict(max_iters=2, val_interval=2),
               'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(
                   by_epoch=by_epoch, interval=1 if by_epoch else 2)),
               'param_scheduler': [],
               'val_dataloader': dict(dataset=dict(indices=2)),
               'test_dataloader': dict(dataset=dict(indices=2))}
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
    assert os.path.isfile(work / ('epoch_1_student.pth' if by_epoch else 'iter_2_student.pth'))
    out = run_tool(['tools/analysis/plot_lipschitz.py', str(work), '--out',
                    str(tmp_path / 'lip.png')])
    assert os.path.getsize(tmp_path / 'lip.png') > 1000, out.stdout
