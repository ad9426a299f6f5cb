"""Train a distillation (or any OpenMMLab) config with mmkd's Runner (MMEngine's, plus
dataset checks and atomic checkpoints).

Takes mmdet's arguments: python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
[--amp] [--offline [DATA_DIR]] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi].
"""
import argparse
import os.path as osp
import sys

try:
    import mmkd  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmkd  # noqa: F401
from mmengine.registry import RUNNERS

from mmkd.engine import close_dist, prepare_cfg
from mmkd.engine.cli import add_common_args, load_cfg


def parse_args():
    parser = argparse.ArgumentParser(description='Train a distiller (or a plain model)')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true', help='mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale lr by batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir')
    parser.add_argument('--offline', nargs='?', const='data/offline', metavar='DATA_DIR',
                        help='try the config on offline Fashion-MNIST data (made under '
                             'DATA_DIR, default data/offline) with a random teacher and a '
                             'short schedule: checks the pipeline before you download data')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_cfg(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'{args.config} has no auto_scale_lr.base_batch_size to scale from')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    prepare_cfg(cfg, args.launcher)  # runner_type mmkd.Runner unless the config names one
    RUNNERS.build(cfg).train()
    close_dist()


if __name__ == '__main__':
    main()
