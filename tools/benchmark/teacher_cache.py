"""Epoch times of classification distillation with and without the teacher-output cache,
against the student trained alone, on real Fashion-MNIST pixels.

    python tools/benchmark/teacher_cache.py [--config configs/icd/cifar100_wrn28_4_wrn16_2.py]
        [--epochs 3] [--samples 2048] [--batch-size 64] [--num-seeds 1]

Three runs through tools/train.py with the same seed and data order: the student alone,
distillation, distillation with ``teacher_cache``. All three read the training set through
``mmkd.SeededAugmentation`` (each sample takes ``--num-seeds`` augmentations), so that with
``--num-seeds 1`` augmentation is deterministic and the two distillation runs must log the
same losses. Writes ``teacher_cache.json`` and prints a table of epoch times.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
from mmengine.config import Config  # noqa: E402

from mmkd.models.teachers import one_teacher_only  # noqa: E402
from mmkd.testing import unpack_fashion_mnist  # noqa: E402
from mmkd.testing.offline import (classification_options, dotted,  # noqa: E402
                                  save_random_weights)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/icd/cifar100_wrn28_4_wrn16_2.py')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--samples', type=int, default=2048, help='training images used')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-seeds', type=int, default=1,
                        help='augmentations per sample (1: deterministic)')
    parser.add_argument('--out-dir', default='work_dirs/benchmark/teacher_cache')
    return parser.parse_args()


def train(config, work_dir, options):
    """Train ``config`` with ``options`` merged in (written out as WORK_DIR/config.py, since
    --cfg-options cannot carry lists of dicts); return its logged iterations."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(dotted(options))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'config.py')
    cfg.dump(path)
    cmd = [sys.executable, osp.join(REPO, 'tools/train.py'), path, '--work-dir', work_dir]
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    runs = sorted(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d, 'vis_data')))
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f if 'loss' in line]


def epoch_seconds(rows, iters_per_epoch):
    """Sum of the logged iteration times per epoch (data loading included)."""
    times = [r['time'] for r in rows]
    return [sum(times[i:i + iters_per_epoch]) for i in range(0, len(times), iters_per_epoch)]


def main():
    args = parse_args()
    config = osp.join(REPO, args.config)
    cfg = Config.fromfile(config)
    one_teacher_only(cfg.model, 'tools/benchmark/teacher_cache.py')
    os.makedirs(args.out_dir, exist_ok=True)
    mnist = unpack_fashion_mnist(osp.join(args.out_dir, 'fashion_mnist'))
    options, teacher = classification_options(cfg, mnist, args.batch_size,
                                              indices=args.samples)
    ckpt = osp.join(args.out_dir, 'teacher.pth')
    if not osp.isfile(ckpt):  # timing and equality do not need a trained teacher
        save_random_weights(teacher, ckpt, seed=1)
    dataset = dict(cfg.train_dataloader.dataset.to_dict(),
                   **options['train_dataloader']['dataset'])  # the config's pipeline kept
    options['train_dataloader']['dataset'] = dict(
        _delete_=True, type='mmkd.SeededAugmentation', num_seeds=args.num_seeds,
        dataset=dataset)
    runtime = {'train_cfg': dict(max_epochs=args.epochs, val_interval=args.epochs + 1),
               'default_hooks': dict(logger=dict(interval=1), checkpoint=dict(
                   interval=args.epochs)),
               'log_processor': dict(window_size=1), 'randomness': dict(seed=0)}
    options['val_dataloader']['dataset']['indices'] = 64  # built, never run
    iters = -(-args.samples // args.batch_size)

    student_cfg = cfg.model.student if isinstance(cfg.model.student, str) else \
        cfg.model.student['cfg_path']
    student_opts = {k: v for k, v in options.items() if k != 'model'}
    student_opts['model'] = {k: v for k, v in options['model']['student'].items()
                             if k not in ('_delete_', 'cfg_path')}
    results = {}
    results['student alone'] = train(student_cfg, osp.join(args.out_dir, 'student'),
                                     dict(student_opts, **runtime))
    options['model']['teacher_ckpt'] = ckpt
    results['distillation'] = train(config, osp.join(args.out_dir, 'distill'),
                                    dict(options, **runtime))
    options['model']['teacher_cache'] = dict(dtype='float32')
    results['distillation + teacher cache'] = train(
        config, osp.join(args.out_dir, 'distill_cache'), dict(options, **runtime))

    table = {name: epoch_seconds(rows, iters) for name, rows in results.items()}
    plain, cached = results['distillation'], results['distillation + teacher cache']
    keys = [k for k in plain[0] if k.startswith('distill.') or k in ('loss', 'loss_student')]
    largest = max(abs(a[k] - b[k]) for a, b in zip(plain, cached) for k in keys)
    summary = dict(config=args.config, epochs=args.epochs, samples=args.samples,
                   batch_size=args.batch_size, num_seeds=args.num_seeds,
                   epoch_seconds=table, largest_logged_loss_difference=largest)
    with open(osp.join(args.out_dir, 'teacher_cache.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'\n{args.config}: {args.samples} images, batch {args.batch_size}, '
          f'{args.num_seeds} augmentation(s) per sample')
    print('| run | ' + ' | '.join(f'epoch {i + 1} (s)' for i in range(args.epochs)) + ' |')
    print('|---|' + '---|' * args.epochs)
    for name, secs in table.items():
        print(f'| {name} | ' + ' | '.join(f'{s:.1f}' for s in secs) + ' |')
    print(f'largest difference between the logged losses with and without the cache: '
          f'{largest:.3g}')


if __name__ == '__main__':
    main()
