"""Keep the teacher's tapped outputs per (sample, augmentation), to skip the teacher later."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

Key = Tuple[int, int]


class TeacherCache:
    """The teacher's tap records, one slice per sample, keyed by ``(sample_idx, aug_seed)``.

    A batch whose every sample is cached skips the teacher; any other batch runs it and is
    stored. Correct only when a key determines the teacher's input: wrap the training set
    in :class:`mmkd.datasets.SeededAugmentation`. Records must have the batch as their
    first dimension (logits, features); tuples of them (levels) are fine.

    Args:
        max_items: stop storing beyond this many samples (the memory bound).
        dtype: storage dtype (``'float32'`` keeps results identical; ``'float16'`` halves
            the memory).
        device: where records are kept (``'cpu'``, or ``'cuda'`` when memory allows).
    """

    def __init__(self, max_items: int = 1_000_000, dtype: str = 'float32',
                 device: str = 'cpu') -> None:
        self.max_items = max_items
        self.dtype = getattr(torch, dtype)
        self.device = torch.device(device)
        self.items: Dict[Key, Dict[str, object]] = {}
        self.hits = self.misses = 0

    @staticmethod
    def keys(data_samples) -> List[Key]:
        keys = []
        for sample in data_samples:
            info = sample.metainfo
            if 'sample_idx' not in info or 'aug_seed' not in info:
                raise KeyError('teacher_cache needs `sample_idx` and `aug_seed` in each data '
                               "sample: wrap the training dataset in dict(type="
                               "'mmkd.SeededAugmentation', dataset=...)")
            keys.append((int(info['sample_idx']), int(info['aug_seed'])))
        return keys

    def lookup(self, keys: Sequence[Key], device: torch.device) -> Optional[Dict[str, object]]:
        """The batch's records, stacked (in fp32), if every sample is cached; else None."""
        if not keys or any(k not in self.items for k in keys):
            self.misses += len(keys)
            return None
        self.hits += len(keys)
        first = self.items[keys[0]]
        return {tap: _stack([self.items[k][tap] for k in keys], device)
                for tap in first}

    def store(self, keys: Sequence[Key], records: Dict[str, object]) -> None:
        for i, key in enumerate(keys):
            if key in self.items or len(self.items) >= self.max_items:
                continue
            self.items[key] = {tap: _slice(value, i, len(keys), tap, self)
                               for tap, value in records.items()}


def _slice(value, i: int, batch: int, tap: str, cache: TeacherCache):
    if isinstance(value, (tuple, list)):
        return tuple(_slice(v, i, batch, tap, cache) for v in value)
    if not isinstance(value, Tensor) or value.dim() == 0 or value.shape[0] != batch:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f'teacher_cache: tap {tap!r} gives {shape}, not one row per sample '
                         f'of the batch of {batch}; the cache stores per-sample records only')
    return value[i].detach().to(cache.device, cache.dtype, copy=True)


def _stack(parts, device: torch.device):
    if isinstance(parts[0], tuple):
        return tuple(_stack([p[j] for p in parts], device) for j in range(len(parts[0])))
    return torch.stack(parts).to(device, non_blocking=True).float()
