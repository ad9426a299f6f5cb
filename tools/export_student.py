"""Export the student of a distillation checkpoint for plain mmdet/mmseg/mmpretrain.

python tools/export_student.py CHECKPOINT OUT.pth [--config DISTILL_CONFIG]

Writes OUT.pth ({'meta', 'state_dict'} with no prefix). With --config it also writes
OUT.py, the student's plain config, so that e.g. mmdet's own tools/test.py runs it.
"""
import argparse
import os.path as osp
import sys

try:
    import mmkd  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmkd  # noqa: F401
from mmengine.config import Config

from mmkd.engine import export_student


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='distillation checkpoint')
    parser.add_argument('out', help='student-only checkpoint to write')
    parser.add_argument('--config', help='the distillation config: also write OUT.py')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config) if args.config else None
    out_cfg = osp.splitext(args.out)[0] + '.py' if cfg is not None else None
    n = export_student(args.checkpoint, args.out, cfg, out_cfg)
    print(f'wrote {n} student tensors to {args.out}' + (f' and its config to {out_cfg}'
                                                         if out_cfg else ''))


if __name__ == '__main__':
    main()
