"""The Fashion-MNIST configs evaluate on the 10k test images, not on training images
(mmpretrain 1.2's (Fashion-)MNIST picks its files by ``test_mode``, not by ``split``)."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from conftest import REPO
from mmkd.testing import load_fashion_mnist, unpack_fashion_mnist
from mmkd.testing.fashion_mnist import FASHION_ROOT
from mmkd.testing.offline import classification_options


@pytest.fixture(scope='module')
def mnist_root(tmp_path_factory):
    if not osp.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing')
    return unpack_fashion_mnist(str(tmp_path_factory.mktemp('fashion_mnist')))


def _labels(dataset_cfg) -> np.ndarray:
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    return np.array([dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))])


@pytest.mark.parametrize('config', ['configs/_base_/datasets/fashion_mnist_cls.py',
                                    'configs/benchmark/fashion_mnist_student.py'])
def test_config_evaluates_on_the_test_images(config, mnist_root):
    cfg = Config.fromfile(osp.join(REPO, config))
    _, test_labels = load_fashion_mnist(FASHION_ROOT, 't10k')
    _, train_labels = load_fashion_mnist(FASHION_ROOT, 'train')
    for split in ('val', 'test'):
        labels = _labels(dict(cfg[f'{split}_dataloader'].dataset, data_root=mnist_root))
        assert np.array_equal(labels, test_labels), split
    assert np.array_equal(_labels(dict(cfg.train_dataloader.dataset, data_root=mnist_root)),
                          train_labels)


def test_offline_cifar_overrides_evaluate_on_the_test_images(mnist_root):
    cfg = Config.fromfile(osp.join(REPO, 'configs/kd/resnet50_resnet18_cifar100.py'))
    options, _ = classification_options(cfg, mnist_root)
    _, test_labels = load_fashion_mnist(FASHION_ROOT, 't10k')
    dataset = options['val_dataloader']['dataset']
    assert np.array_equal(_labels(dataset), test_labels)
