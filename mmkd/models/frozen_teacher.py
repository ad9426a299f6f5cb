"""The teacher: a trained network that is only ever read."""
from contextlib import nullcontext
from typing import Dict, Iterable, Optional, Union

import torch
from torch import Tensor, nn

from mmkd.utils.checkpoint import load_weights_strict
from .builder import build_model
from .taps import TeacherDone, Taps
from .teacher_cache import TeacherCache

AUTOCAST_DTYPES = {None: None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


class FrozenTeacher(nn.Module):
    """Build a teacher, load its checkpoint strictly, and keep it frozen and in eval mode.

    Calling it runs the network without gradient only as far as its deepest tap and returns
    the tapped tensors (``{tap: tensor or tuple}``).

    Args:
        model: the teacher (model dict, config path, or ``dict(cfg_path=..., **overrides)``).
        ckpt: its trained weights (required: a random teacher never trains a student).
        taps: the tensors to record (see :mod:`mmkd.models.taps`).
        mode: the network's forward mode; ``'tensor'`` avoids its loss path.
        autocast: ``'bf16'`` or ``'fp16'`` runs it under autocast; None leaves autocast as it
            is (on under ``--amp``, off otherwise).
        cache: arguments of :class:`TeacherCache` to reuse the records of a sample seen
            before with the same augmentation; None disables it.
        data_preprocessor: merged into the network's (see :func:`load_model_cfg`).
        owner: what the class using it is called, for messages.
        name: the teacher's name among several (``Distiller(teachers=...)``), for messages;
            None for the one teacher of ``teacher=``.

    The network is the submodule ``model``, but its state keys carry no ``model.``: a
    distiller's checkpoint holds ``teacher.<network key>`` (``teachers.<name>.<network
    key>`` for named teachers), as a plain network's would under that prefix.
    """

    def __init__(self, model: Union[str, dict], ckpt: str, taps: Iterable[str],
                 mode: str = 'tensor', autocast: Optional[str] = None,
                 cache: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 owner: str = 'Distiller', name: Optional[str] = None) -> None:
        super().__init__()
        role = 'teacher' if name is None else f'teacher {name!r}'
        if not ckpt:
            where = '`teacher_ckpt`' if name is None else f'`ckpt` (teachers.{name}.ckpt)'
            raise ValueError(f'{owner}: {role} needs {where}: a teacher without trained '
                             f'weights would distil noise')
        if autocast not in AUTOCAST_DTYPES:
            key = 'teacher_autocast' if name is None else f'teachers.{name}.autocast'
            raise ValueError(f'{key} must be one of {list(AUTOCAST_DTYPES)}, got {autocast!r}')
        self.name = name
        self.model = build_model(model, role, data_preprocessor)
        load_weights_strict(self.model, ckpt, role)
        self.model.requires_grad_(False)
        self.ckpt, self.mode, self.autocast = ckpt, mode, autocast
        self.cache = TeacherCache(**cache) if cache is not None else None
        self.taps = Taps(self.model, taps, role, stop_when_done=True)
        self.train(False)
        self._register_load_state_dict_pre_hook(_prefix_model_keys)

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Always eval: the teacher's BN statistics and dropout never change."""
        return super().train(False)

    def state_dict(self, *args, destination=None, prefix: str = '', keep_vars: bool = False):
        return self.model.state_dict(destination=destination, prefix=prefix,
                                     keep_vars=keep_vars)

    def forward(self, inputs: Tensor, data_samples=None,
                use_cache: bool = False) -> Dict[str, object]:
        """The tapped tensors of ``inputs`` (from the cache when every sample is there)."""
        self.taps.reset()
        keys = None
        if use_cache and self.cache is not None:
            keys = self.cache.keys(data_samples)
            cached = self.cache.lookup(keys, inputs.device)
            if cached is not None:
                return cached
        dtype = AUTOCAST_DTYPES[self.autocast]
        device = inputs.device.type if inputs.device.type in ('cuda', 'cpu') else 'cpu'
        precision = nullcontext() if dtype is None else torch.autocast(device, dtype=dtype)
        with torch.no_grad(), precision:
            try:
                self.model(inputs, data_samples, mode=self.mode)
            except TeacherDone:
                pass
        records = self.taps.take()
        if keys is not None:
            self.cache.store(keys, records)
        return records


def _prefix_model_keys(state_dict, prefix, *args) -> None:
    """Load ``<prefix><key>`` (see :meth:`FrozenTeacher.state_dict`) into ``model``."""
    for key in [k for k in state_dict if k.startswith(prefix)
                and not k.startswith(prefix + 'model.')]:
        state_dict[prefix + 'model.' + key[len(prefix):]] = state_dict.pop(key)
