"""The first job a new user runs: distillation on real pixels, on CPU, offline.

    python tools/demo.py [--task det|cls] [--work-dir WORK_DIR]

``det`` (the default, ``make demo``): composes the Fashion-MNIST VOC detection set (400
training, 300 test images), trains a Faster R-CNN teacher (24 epochs), then a 2x narrower
student alone and the same student distilled with LONDON (OFD + the Lipschitz term), 10
epochs each, side by side (each on half the threads: small CPU models use two threads
poorly), and compares their mAP. ``cls``: trains a teacher and a 16x smaller
student alone on Fashion-MNIST, distils the student with Hinton KD, and compares their
accuracy. Prints the table and writes WORK_DIR/results.json and WORK_DIR/results.png.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMOS = {
    'det': dict(
        runs=(('teacher', 'configs/demo/fashion_voc_teacher.py'),
              ('student alone', 'configs/demo/fashion_voc_student.py'),
              ('student + LONDON', 'configs/demo/fashion_voc_london.py')),
        metric='pascal_voc/mAP', label='mAP@0.5 (%)', scale=100,
        title='Fashion-MNIST VOC detection, CPU demo', work_dir='work_dirs/demo',
        epoch_keys=('param_scheduler.1.end', )),  # the cosine schedule's length
    'cls': dict(
        runs=(('teacher', 'configs/demo/fashion_mnist_teacher.py'),
              ('student alone', 'configs/demo/fashion_mnist_student.py'),
              ('student + KD', 'configs/demo/fashion_mnist_kd.py')),
        metric='accuracy/top1', label='top-1 accuracy (%)', scale=1,
        title='Fashion-MNIST test subset, CPU demo', work_dir='work_dirs/demo_cls',
        epoch_keys=()),
}
DET_DATA = dict(num_train=400, num_test=300, img_size=128, max_objects=4, seed=0)


def last_val(work_dir: str, metric: str) -> float:
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no training log under {work_dir}')
    with open(files[-1]) as f:
        rows = [json.loads(line) for line in f if f'"{metric}"' in line]
    if not rows:
        raise RuntimeError(f'{files[-1]} has no {metric}')
    return rows[-1][metric]


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine saved last in ``work_dir``."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def plot(results: dict, demo: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names, values = list(results), [r['score'] for r in results.values()]
    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    bars = ax.bar(names, values, color=['#555555', '#9ecae1', '#3182bd'])
    ax.bar_label(bars, fmt='%.2f')
    ax.set_ylim(max(0, min(values) - 10), min(100, max(values) + 5))
    ax.set_ylabel(demo['label'])
    ax.set_title(demo['title'])
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def prepare_data(task: str, det_data: dict) -> dict:
    """Data folders and the --cfg-options that point the demo configs at them."""
    if task == 'cls':
        data = osp.join(REPO, 'data', 'fashion_mnist')
        subprocess.run([sys.executable, osp.join(REPO, 'tools/dataset_converters/'
                                                      'prepare_fashion_mnist.py'), data],
                       check=True)
        root = data + '/'
    else:
        data = osp.join(REPO, 'data', f'fashion_voc_{det_data["num_train"]}')
        args = [f'--{k.replace("_", "-")}={v}' for k, v in det_data.items()]
        subprocess.run([sys.executable, osp.join(REPO, 'tools/dataset_converters/'
                                                      'make_fashion_voc.py'), data, *args],
                       check=True)
        root = data + '/'
    return {f'{split}_dataloader.dataset.data_root': root
            for split in ('train', 'val', 'test')}


def train(name: str, cfg: str, options: list, work_root: str, threads: int, demo: dict,
          results: dict) -> None:
    """One run of tools/train.py on ``threads`` threads, its output prefixed with ``name``;
    its score and minutes go to ``results[name]`` when it succeeds."""
    work = osp.join(work_root, name.replace(' + ', '_').replace(' ', '_'))
    print(f'\n=== {name}: {cfg} -> {work}', flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.time()
    proc = subprocess.Popen([sys.executable, osp.join(REPO, 'tools/train.py'), cfg,
                             '--work-dir', work, '--cfg-options', *options], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    for line in proc.stdout:
        print(f'[{name}] {line}', end='', flush=True)
    if proc.wait() != 0:
        print(f'[{name}] tools/train.py {cfg} failed (exit {proc.returncode})', flush=True)
        if threading.current_thread() is threading.main_thread():
            sys.exit(proc.returncode)
        return
    results[name] = dict(score=last_val(work, demo['metric']) * demo['scale'],
                         minutes=round((time.time() - start) / 60, 1), config=cfg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=sorted(DEMOS), default='det')
    parser.add_argument('--work-dir', help='default: work_dirs/demo (det), work_dirs/demo_cls')
    parser.add_argument('--epochs', type=int, help='train each model this many epochs '
                        '(default: the configs\' own)')
    parser.add_argument('--num-train', type=int, help='det: training images to compose')
    parser.add_argument('--seed', type=int, help='every run\'s seed (default: the configs\' 0)')
    args = parser.parse_args()
    demo = DEMOS[args.task]
    args.work_dir = osp.abspath(args.work_dir or demo['work_dir'])
    data = dict(DET_DATA)
    if args.num_train:
        data.update(num_train=args.num_train, num_test=max(8, args.num_train // 4))
    data_options = [f'{k}={v}' for k, v in prepare_data(args.task, data).items()]
    if args.epochs:
        data_options += [f'train_cfg.max_epochs={args.epochs}',
                         f'train_cfg.val_interval={args.epochs}',
                         f'default_hooks.checkpoint.interval={args.epochs}',
                         *(f'{key}={args.epochs}' for key in demo['epoch_keys'])]
    if args.seed is not None:
        data_options.append(f'randomness.seed={args.seed}')
    threads = int(os.environ.get('OMP_NUM_THREADS') or os.cpu_count() or 1)
    (teacher, teacher_cfg), *students = demo['runs']
    results = {}
    train(teacher, teacher_cfg, data_options, args.work_dir, threads, demo, results)
    teacher_ckpt = last_checkpoint(osp.join(args.work_dir, 'teacher'))
    runs = [(name, cfg, data_options + ([f'model.teacher_ckpt={teacher_ckpt}']
                                        if '+' in name else []))
            for name, cfg in students]
    if threads >= 2:  # the two students side by side, half the threads each
        workers = [threading.Thread(target=train, args=(*run, args.work_dir, threads // 2,
                                                        demo, results)) for run in runs]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if len(results) < len(demo['runs']):
            sys.exit('a student run failed; its log is above, prefixed with its name')
    else:
        for run in runs:
            train(*run, args.work_dir, threads, demo, results)
    results = {name: results[name] for name, _ in demo['runs']}
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(task=args.task, metric=demo['label'], runs=results), f, indent=2)
    plot(results, demo, osp.join(args.work_dir, 'results.png'))
    print(f'\n| model | {demo["label"]} | train minutes |\n|---|---|---|')
    for name, r in results.items():
        print(f'| {name} | {r["score"]:.2f} | {r["minutes"]} |')
    names = list(results)
    gain = results[names[2]]['score'] - results[names[1]]['score']
    print(f'\n{names[2].split(" + ")[1]} changed the student by {gain:+.2f} points. Results: '
          f'{args.work_dir}/results.json, {args.work_dir}/results.png')


if __name__ == '__main__':
    main()
