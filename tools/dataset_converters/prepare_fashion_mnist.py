"""Unpack Fashion-MNIST from the Debian package into the layout mmpretrain reads.

apt-get install dataset-fashion-mnist
python tools/dataset_converters/prepare_fashion_mnist.py data/fashion_mnist
"""
import argparse
import os.path as osp
import sys

try:
    import mmkd  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmkd.testing import unpack_fashion_mnist  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', default='data/fashion_mnist')
    parser.add_argument('--src', default='/usr/share/datasets/fashion-mnist')
    args = parser.parse_args()
    unpack_fashion_mnist(args.out_dir, args.src)
    print(f'Fashion-MNIST ready in {args.out_dir}')


if __name__ == '__main__':
    main()
