"""Write a VOC-format detection + segmentation dataset composed from Fashion-MNIST items.

Example (from the repo root)::

    python tools/dataset_converters/make_fashion_voc.py data/fashion_voc --num-train 2000
"""
import argparse
import os.path as osp
import sys
import time

try:
    import mmkd  # noqa: F401
except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmkd.testing import make_fashion_voc  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='the dataset goes to OUT_DIR/VOC2007')
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-test', type=int, default=200)
    parser.add_argument('--img-size', type=int, default=128)
    parser.add_argument('--max-objects', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    summary = make_fashion_voc(args.out_dir, num_train=args.num_train, num_test=args.num_test,
                               img_size=args.img_size, max_objects=args.max_objects,
                               seed=args.seed)
    state = 'kept existing' if summary['skipped'] else 'wrote'
    objects = summary['num_objects']
    print(f"{state} {summary['root']}: {args.num_train} train / {args.num_test} test images "
          f"({objects['train']} / {objects['test']} objects), {args.img_size} px, "
          f'seed {args.seed} in {time.perf_counter() - start:.2f} s')


if __name__ == '__main__':
    main()
