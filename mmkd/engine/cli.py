"""What tools/train.py and tools/test.py share: arguments and reading the config."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from mmkd.utils.checkpoint import TRUST_ENV


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """mmdet's common arguments, plus ``--trust-checkpoints``."""
    parser.add_argument('--work-dir', help='where logs, checkpoints and metrics go')
    parser.add_argument('--trust-checkpoints', action='store_true',
                        help=f'load checkpoints that hold Python objects (same as {TRUST_ENV}=1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_cfg(args: argparse.Namespace) -> Config:
    """Apply the common arguments and return the config with its work_dir set."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.trust_checkpoints:
        os.environ[TRUST_ENV] = '1'
    cfg = Config.fromfile(args.config)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if getattr(args, 'offline', None):  # before --cfg-options, which may change it further
        from mmkd.testing.offline_run import offline_config
        cfg = offline_config(cfg, args.offline)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg
