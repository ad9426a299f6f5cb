"""Datasets the library itself needs: the seeded augmentation wrapper and dataset checks.

The offline demo/test data (Fashion-MNIST, the composed VOC set) live in
:mod:`mmkd.testing`, which ``import mmkd`` does not import.
"""
from .checks import find_dataset_problem
from .seeded_augmentation import SeededAugmentation

__all__ = ['SeededAugmentation', 'find_dataset_problem']
