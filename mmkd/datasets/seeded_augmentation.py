"""Augment each sample with one of a fixed set of random streams, so the result repeats."""
import random

import numpy as np
import torch

from mmkd.registry import DATASETS


@DATASETS.register_module()
class SeededAugmentation:
    """Wrap a dataset so that sample ``i`` is augmented with seed ``(i, k)``, ``k`` drawn
    from ``range(num_seeds)`` each time it is read.

    A sample then only ever takes ``num_seeds`` augmented forms, so the teacher's outputs
    for it can be cached (``Distiller(teacher_cache=...)``); ``num_seeds=1`` makes the
    augmentation deterministic. The outer random streams (python, numpy, torch) are left
    as they were. ``sample_idx`` and ``aug_seed`` are added to each data sample's metainfo.
    """

    def __init__(self, dataset, num_seeds: int = 1, seed: int = 0) -> None:
        if num_seeds < 1:
            raise ValueError(f'SeededAugmentation: num_seeds must be >= 1, got {num_seeds}')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.num_seeds, self.seed = num_seeds, seed
        self.metainfo = getattr(self.dataset, 'metainfo', {})

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name):
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, idx: int):
        aug_seed = random.randrange(self.num_seeds)
        states = random.getstate(), np.random.get_state(), torch.get_rng_state()
        stream = (self.seed * 1_000_003 + idx) * 1_009 + aug_seed
        try:
            random.seed(stream)
            np.random.seed(stream % 2 ** 32)
            torch.default_generator.manual_seed(stream)  # CPU only: CUDA streams untouched
            data = self.dataset[idx]
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])
        samples = data['data_samples']
        samples.set_metainfo(dict(sample_idx=idx, aug_seed=aug_seed))
        return data
