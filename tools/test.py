"""Evaluate a student: python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE].

CONFIG may be a distillation config (the student is tested, no teacher is built) or a
plain model config. CHECKPOINT may be a full distillation checkpoint or a student-only one.
Runs mmkd's Runner, as tools/train.py does: a missing or malformed dataset file is named.
"""
import argparse
import os.path as osp
import sys
import tempfile

try:
    import mmkd  # noqa: F401
except ImportError:  # running from a source checkout
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmkd  # noqa: F401
from mmengine.registry import RUNNERS

from mmkd.engine import close_dist, export_student, plain_student_cfg, prepare_cfg
from mmkd.engine.cli import add_common_args, load_cfg
from mmkd.engine.runner_setup import is_distiller


def parse_args():
    parser = argparse.ArgumentParser(description='Test the student of a distillation')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (distillation or student-only)')
    parser.add_argument('--out', help='dump predictions to a pickle file')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_cfg(args)
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
        prepare_cfg(cfg, args.launcher)  # runner_type mmkd.Runner unless the config names one
        RUNNERS.build(cfg).test()
    close_dist()


if __name__ == '__main__':
    main()
