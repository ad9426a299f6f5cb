"""Check the datasets a config reads before a long run: folders, list files, images,
annotations. Names the first missing or malformed file of each split.

    python tools/dataset_converters/check_dataset.py CONFIG [--cfg-options k=v ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DATASETS, init_default_scope  # noqa: E402
from mmengine.utils import import_modules_from_strings  # noqa: E402

import mmkd  # noqa: E402,F401
from mmkd.datasets.checks import find_dataset_problem  # noqa: E402


def scope_of(cfg) -> str:
    """The codebase that registers the config's dataset type (for bare dataset configs)."""
    dataset = cfg.train_dataloader.dataset
    while 'dataset' in dataset or 'datasets' in dataset:  # wrappers
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    kind = str(dataset.get('type', '')).split('.')[-1]
    for scope in ('mmdet', 'mmseg', 'mmpretrain'):
        registry = import_modules_from_strings(f'{scope}.registry', allow_failed_imports=True)
        if registry is not None and registry.DATASETS.get(kind) is not None:
            return scope
    return 'mmengine'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope') or scope_of(cfg))
    failed = False
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if not cfg.get(split):
            continue
        dataset_cfg = cfg[split].dataset
        problem = find_dataset_problem(dataset_cfg, parse=True)
        if problem is None:
            try:
                dataset = DATASETS.build(dataset_cfg)
                print(f'{split}: {len(dataset)} samples, OK')
                continue
            except Exception as err:  # the dataset's own error, reported with the split
                problem = f'{type(err).__name__}: {err}'
        print(f'{split}: {problem}')
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
