"""Evaluate a student: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE].

CONFIG may be a distillation config (the student is tested, no teacher is built) or a
plain model config. CHECKPOINT may be a full distillation checkpoint or a student-only one.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

try:
    import mmkd  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmkd  # noqa: F401
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmkd.engine import export_student, plain_student_cfg, prepare_cfg
from mmkd.engine.runner_setup import is_distiller
from mmkd.utils.checkpoint import TRUST_ENV


def parse_args():
    parser = argparse.ArgumentParser(description='Test the student of a distillation')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (distillation or student-only)')
    parser.add_argument('--work-dir', help='where evaluation metrics go')
    parser.add_argument('--out', help='dump predictions to a pickle file')
    parser.add_argument('--trust-checkpoints', action='store_true',
                        help=f'load checkpoints that hold Python objects (same as {TRUST_ENV}=1)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    if args.trust_checkpoints:
        os.environ[TRUST_ENV] = '1'
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir', None) or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if is_distiller(cfg):
            cfg = plain_student_cfg(cfg)
            checkpoint = osp.join(tmp, 'student.pth')
            export_student(args.checkpoint, checkpoint)
        cfg.load_from = checkpoint
        if args.out:
            cfg.test_evaluator = list(cfg.test_evaluator) if isinstance(
                cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
            cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
        prepare_cfg(cfg, args.launcher)
        runner = Runner.from_cfg(cfg)
        runner.test()


if __name__ == '__main__':
    main()
