"""Unpack Fashion-MNIST from the Debian package into the layout mmpretrain reads.

apt-get install dataset-fashion-mnist
python tools/dataset_converters/prepare_fashion_mnist.py data/fashion_mnist
"""
import argparse
import gzip
import os
import shutil

FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')


def prepare(out_dir: str, src: str = '/usr/share/datasets/fashion-mnist') -> None:
    """Write the four uncompressed IDX files to ``out_dir`` (skipped when present)."""
    os.makedirs(out_dir, exist_ok=True)
    for name in FILES:
        dst = os.path.join(out_dir, name)
        if os.path.isfile(dst):
            continue
        gz = os.path.join(src, name + '.gz')
        if not os.path.isfile(gz):
            raise FileNotFoundError(f'{gz} not found: apt-get install dataset-fashion-mnist')
        with gzip.open(gz, 'rb') as fin, open(dst + '.tmp', 'wb') as fout:
            shutil.copyfileobj(fin, fout)
        os.replace(dst + '.tmp', dst)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', nargs='?', default='data/fashion_mnist')
    parser.add_argument('--src', default='/usr/share/datasets/fashion-mnist')
    args = parser.parse_args()
    prepare(args.out_dir, args.src)
    print(f'Fashion-MNIST ready in {args.out_dir}')


if __name__ == '__main__':
    main()
