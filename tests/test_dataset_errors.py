"""A dataset that fails to build gives an error naming the missing or malformed file."""
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.registry import DefaultScope

from conftest import REPO, run_tool
from mmkd.engine.runner import Runner
from mmkd.testing import fashion_det_metainfo, fashion_seg_metainfo


@pytest.fixture
def voc(tmp_path, fashion_voc):
    root = tmp_path / 'voc'
    shutil.copytree(fashion_voc, root)
    return root


def det_loader(root):
    return dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='VOCDataset', data_root=str(root),
                             ann_file='VOC2007/ImageSets/Main/trainval.txt',
                             data_prefix=dict(sub_data_root='VOC2007/'),
                             metainfo=fashion_det_metainfo(), pipeline=[]))


def build(loader, scope):
    with DefaultScope.overwrite_default_scope(scope):
        return Runner.build_dataloader(loader)


def test_intact_voc_builds(voc):
    assert len(build(det_loader(voc), 'mmdet').dataset) == 8


def test_broken_annotation_names_the_xml(voc):
    xml = voc / 'VOC2007' / 'Annotations' / 'train_000003.xml'
    xml.write_text('<annotation><object><name>Bag</name>')
    with pytest.raises(FileNotFoundError, match=f'annotation file {xml} is not valid XML'):
        build(det_loader(voc), 'mmdet')


def test_missing_annotation_and_folder_are_named(voc, tmp_path):
    xml = voc / 'VOC2007' / 'Annotations' / 'train_000005.xml'
    os.remove(xml)
    with pytest.raises(FileNotFoundError, match=f'annotation file listed in .* not found: {xml}'):
        build(det_loader(voc), 'mmdet')
    with pytest.raises(FileNotFoundError, match='dataset folder not found: .*nowhere'):
        build(det_loader(tmp_path / 'nowhere'), 'mmdet')


def test_empty_lists_and_unknown_classes_are_explained(voc):
    empty = voc / 'VOC2007' / 'ImageSets' / 'Main' / 'empty.txt'
    empty.write_text('')
    loader = det_loader(voc)
    loader['dataset']['ann_file'] = 'VOC2007/ImageSets/Main/empty.txt'
    with pytest.raises(FileNotFoundError, match=f'annotation list {empty} lists no images'):
        build(loader, 'mmdet')
    loader = det_loader(voc)
    del loader['dataset']['metainfo']  # VOC's 20 classes: no Fashion item is one of them
    loader['dataset']['filter_cfg'] = dict(filter_empty_gt=True)  # as training configs have
    with pytest.raises(FileNotFoundError, match=r"no object in .*Annotations has a class of "
                                                r"this dataset: the files name \[.*'Trouser'.*"
                                                r"knows \['aeroplane'.*metainfo=dict\(classes"):
        build(loader, 'mmdet')


def test_missing_segmentation_mask_is_named(voc):
    mask = voc / 'VOC2007' / 'SegmentationClass' / 'train_000001.png'
    os.remove(mask)
    loader = dict(det_loader(voc), dataset=dict(
        type='BaseSegDataset', data_root=str(voc / 'VOC2007'), metainfo=fashion_seg_metainfo(),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt', pipeline=[]))
    with pytest.raises(FileNotFoundError, match=f'not found: {mask}'):
        build(loader, 'mmseg')


def test_missing_fashion_mnist_files_are_named(tmp_path):
    (tmp_path / 'fm').mkdir()
    loader = dict(det_loader(tmp_path), dataset=dict(
        type='FashionMNIST', data_root=str(tmp_path / 'fm'), split='train', pipeline=[]))
    with pytest.raises(FileNotFoundError, match='train-images-idx3-ubyte not found.*prepare'):
        build(loader, 'mmpretrain')


def test_tools_test_names_the_missing_annotation(voc, tmp_path):
    """tools/test.py runs mmkd's Runner, so its dataset checks apply as in training."""
    xml = voc / 'VOC2007' / 'Annotations' / 'test_000001.xml'
    os.remove(xml)
    checkpoint = tmp_path / 'student.pth'
    torch.save({'state_dict': {}}, checkpoint)  # never read: the dataset fails first
    proc = run_tool(['tools/test.py', osp.join(REPO, 'configs/demo/fashion_voc_student.py'),
                     str(checkpoint), '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                     f'test_dataloader.dataset.data_root={voc}/'], check=False)
    assert proc.returncode != 0
    assert f'FileNotFoundError: annotation file listed in {voc}/VOC2007/ImageSets/Main/' \
           f'test.txt not found: {xml}' in proc.stderr, proc.stderr[-3000:]
