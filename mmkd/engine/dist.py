"""Distributed training on CPU (gloo), which MMEngine 0.10.7 cannot start by itself."""
import os
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel

from mmkd.registry import MODEL_WRAPPERS

TIMEOUT_ENV = 'MMKD_DIST_TIMEOUT'


def dist_timeout() -> timedelta:
    """Collective timeout: a rank whose peer died exits with an error instead of hanging."""
    return timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, 1800)))


def init_cpu_dist() -> None:
    """Start the gloo process group from torchrun's environment when CUDA is absent.

    MMEngine's launcher calls ``torch.cuda.set_device`` unguarded; with the group
    already initialised it skips that code.
    """
    if dist.is_available() and not dist.is_initialized() and not torch.cuda.is_available():
        dist.init_process_group(backend='gloo', timeout=dist_timeout())


@MODEL_WRAPPERS.register_module()
class DistributedDataParallel(MMDistributedDataParallel):
    """MMEngine's DDP wrapper that also wraps CPU modules (no ``device_ids`` for them).

    Frozen teacher parameters need no gradient and are never synchronised.
    """

    def __init__(self, module, device_ids=None, **kwargs) -> None:
        if not any(p.is_cuda for p in module.parameters()):
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


def close_dist() -> None:
    """Wait for every rank, then destroy the process group, so that no collective thread
    is still running when the interpreter exits (gloo can otherwise abort at exit)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
