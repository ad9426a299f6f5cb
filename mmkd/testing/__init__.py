"""Scaffolding for the demo, the tests and the benchmarks: offline real-pixel data.

``import mmkd`` does not import this package; import it explicitly. The overrides that run
a real config on this data are in :mod:`mmkd.testing.offline`.
"""
from .compose_voc import (FASHION_PALETTE, fashion_det_metainfo, fashion_seg_metainfo,
                          make_fashion_voc)
from .fashion_mnist import FASHION_CLASSES, load_fashion_mnist, unpack_fashion_mnist

__all__ = [
    'FASHION_CLASSES', 'FASHION_PALETTE', 'fashion_det_metainfo', 'fashion_seg_metainfo',
    'load_fashion_mnist', 'make_fashion_voc', 'unpack_fashion_mnist'
]
