"""The first job a new user runs: distillation on real Fashion-MNIST, on CPU, offline.

Trains the demo teacher and the student alone, distils the student from that teacher,
then prints teacher / student alone / distilled student accuracy and writes them to
WORK_DIR/results.json and WORK_DIR/results.png.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUNS = (('teacher', 'configs/demo/fashion_mnist_teacher.py'),
        ('student alone', 'configs/demo/fashion_mnist_student.py'),
        ('student + KD', 'configs/demo/fashion_mnist_kd.py'))


def last_val(work_dir: str) -> dict:
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no training log under {work_dir}')
    with open(files[-1]) as f:
        rows = [json.loads(line) for line in f if 'accuracy/top1' in line]
    if not rows:
        raise RuntimeError(f'{files[-1]} has no validation accuracy')
    return rows[-1]


def plot(results: dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names, values = list(results), [r['top1'] for r in results.values()]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bars = ax.bar(names, values, color=['#555555', '#9ecae1', '#3182bd'])
    ax.bar_label(bars, fmt='%.2f')
    ax.set_ylim(min(values) - 5, min(100, max(values) + 3))
    ax.set_ylabel('top-1 accuracy (%)')
    ax.set_title('Fashion-MNIST test subset, CPU demo')
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    args = parser.parse_args()
    data = osp.join(REPO, 'data', 'fashion_mnist')
    subprocess.run([sys.executable, osp.join(REPO, 'tools/dataset_converters/'
                                                  'prepare_fashion_mnist.py'), data], check=True)
    results = {}
    for name, cfg in RUNS:
        work = osp.join(args.work_dir, name.split()[0] if name == 'teacher' else
                        name.replace(' + ', '_').replace(' ', '_'))
        print(f'\n=== {name}: {cfg} -> {work}', flush=True)
        start = time.time()
        subprocess.run([sys.executable, osp.join(REPO, 'tools/train.py'), cfg, '--work-dir', work,
                        '--cfg-options', f'train_dataloader.dataset.data_root={data}/',
                        f'val_dataloader.dataset.data_root={data}/',
                        f'test_dataloader.dataset.data_root={data}/',
                        f'model.teacher_ckpt={osp.join(args.work_dir, "teacher", "epoch_2.pth")}'
                        if 'KD' in name else 'log_level=INFO'],
                       check=True, cwd=REPO)
        results[name] = dict(top1=last_val(work)['accuracy/top1'],
                             minutes=round((time.time() - start) / 60, 1), config=cfg)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    plot(results, osp.join(args.work_dir, 'results.png'))
    print('\n| model | top-1 (%) | train minutes |\n|---|---|---|')
    for name, r in results.items():
        print(f'| {name} | {r["top1"]:.2f} | {r["minutes"]} |')
    gain = results['student + KD']['top1'] - results['student alone']['top1']
    print(f'\nKD changed the student by {gain:+.2f} points. Results: '
          f'{args.work_dir}/results.json, {args.work_dir}/results.png')


if __name__ == '__main__':
    main()
