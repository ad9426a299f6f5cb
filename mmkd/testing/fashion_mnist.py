"""Read the Fashion-MNIST IDX files installed by ``apt-get install dataset-fashion-mnist``."""
import gzip
import os
import os.path as osp
import shutil
import zlib
from typing import Tuple

import numpy as np

from mmkd.datasets.checks import IDX_FILES

FASHION_ROOT = '/usr/share/datasets/fashion-mnist'
FASHION_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                   'Sneaker', 'Bag', 'Ankle boot')

_IMAGES_MAGIC = 2051  # 0x00000803: uint8, 3 dimensions
_LABELS_MAGIC = 2049  # 0x00000801: uint8, 1 dimension


def _read_idx(path: str, magic: int) -> np.ndarray:
    """Read one gzipped IDX file, checking its magic number and size."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Fashion-MNIST file {path} not found; install it with '
                                '`apt-get install dataset-fashion-mnist`')
    try:
        with gzip.open(path, 'rb') as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f'{path} is not a readable gzip file: {e}') from e
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f'{path} is too short for an IDX header ({len(data)} bytes)')
    found = int.from_bytes(data[:4], 'big')
    if found != magic:
        raise ValueError(f'{path} has IDX magic number {found}, expected {magic}')
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise ValueError(f'{path} holds {len(data) - header} data bytes, '
                         f'its header says {shape}')
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(root: str = FASHION_ROOT,
                       split: str = 'train') -> Tuple[np.ndarray, np.ndarray]:
    """Return ``(images uint8 (N, 28, 28), labels uint8 (N,))`` of split 'train' or 't10k'."""
    if split not in ('train', 't10k'):
        raise ValueError(f"split must be 'train' or 't10k', got {split!r}")
    if not osp.isdir(root):
        raise FileNotFoundError(f'Fashion-MNIST folder {root} not found; install it with '
                                '`apt-get install dataset-fashion-mnist`')
    img_file = osp.join(root, f'{split}-images-idx3-ubyte.gz')
    images = _read_idx(img_file, _IMAGES_MAGIC)
    lbl_file = osp.join(root, f'{split}-labels-idx1-ubyte.gz')
    labels = _read_idx(lbl_file, _LABELS_MAGIC)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f'{img_file} holds images {images.shape} for {len(labels)} labels, '
                         'expected (N, 28, 28)')
    if labels.max(initial=0) >= len(FASHION_CLASSES):
        raise ValueError(f'{lbl_file} has labels up to {labels.max()}, expected < 10')
    return images, labels


def unpack_fashion_mnist(out_dir: str, src: str = FASHION_ROOT) -> str:
    """Write the four uncompressed IDX files mmpretrain's ``FashionMNIST`` reads to
    ``out_dir`` (files already there are kept); returns ``out_dir`` with a trailing slash."""
    os.makedirs(out_dir, exist_ok=True)
    for name in IDX_FILES:
        dst = osp.join(out_dir, name)
        if osp.isfile(dst):
            continue
        gz = osp.join(src, name + '.gz')
        if not osp.isfile(gz):
            raise FileNotFoundError(f'{gz} not found: apt-get install dataset-fashion-mnist')
        with gzip.open(gz, 'rb') as fin, open(dst + '.tmp', 'wb') as fout:
            shutil.copyfileobj(fin, fout)
        os.replace(dst + '.tmp', dst)
    return out_dir.rstrip('/') + '/'
