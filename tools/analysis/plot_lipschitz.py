"""Plot the teacher's and the student's Lipschitz estimates from a training log, as a PNG.

python tools/analysis/plot_lipschitz.py WORK_DIR_OR_SCALARS_JSON [--out lipschitz.png]
"""
import argparse
import glob
import json
import os.path as osp
import re
from collections import defaultdict

KEY = re.compile(r'^lipschitz\.(?P<loss>[^.]+)\.(?P<role>student|teacher)_(?P<pair>\d+)$')


def read(path: str):
    """``{(loss, pair): {role: ([iters], [values])}}`` from an MMEngine scalars.json."""
    if osp.isdir(path):
        files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
        if not files:
            raise FileNotFoundError(f'no */vis_data/scalars.json under {path}')
        path = files[-1]
    series = defaultdict(lambda: defaultdict(lambda: ([], [])))
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            for key, value in row.items():
                match = KEY.match(key)
                if match:
                    its, vals = series[(match['loss'], int(match['pair']))][match['role']]
                    its.append(row.get('iter', len(its)))
                    vals.append(value)
    if not series:
        raise ValueError(f'{path} has no lipschitz.* entries: was LipschitzMonitorHook on?')
    return series


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('log', help='a work dir or its vis_data/scalars.json')
    parser.add_argument('--out', default='lipschitz.png')
    args = parser.parse_args()
    series = read(args.log)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = sorted(series)
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for role, style in (('teacher', '--'), ('student', '-')):
            its, vals = series[key][role]
            ax.plot(its, vals, style, label=role)
        ax.set_title(f'{key[0]}: stages {key[1]}->{key[1] + 1}')
        ax.set_xlabel('iteration')
        ax.set_ylabel('spectral norm of TM')
        ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
