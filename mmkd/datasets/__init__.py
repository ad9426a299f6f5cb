"""Datasets: Fashion-MNIST and VOC-format datasets composed from it."""
from .compose_voc import (FASHION_PALETTE, fashion_det_metainfo, fashion_seg_metainfo,
                          make_fashion_voc)
from .fashion_mnist import FASHION_CLASSES, load_fashion_mnist, unpack_fashion_mnist
from .seeded_augmentation import SeededAugmentation

__all__ = [
    'FASHION_CLASSES', 'FASHION_PALETTE', 'fashion_det_metainfo', 'fashion_seg_metainfo',
    'load_fashion_mnist', 'make_fashion_voc', 'SeededAugmentation',
    'unpack_fashion_mnist'
]
