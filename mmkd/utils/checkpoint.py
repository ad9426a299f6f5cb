"""Checkpoint files: safe loading and weights_only-clean saving.

PyTorch >= 2.6 loads with ``weights_only=True``: a file may hold tensors and
plain containers only, so that loading cannot run code. mmkd keeps that
default for every file, writes checkpoints that satisfy it, and offers one
explicit opt-in for older files you trust: ``MMKD_TRUST_CHECKPOINTS=1``
(or ``--trust-checkpoints`` on the tools). mmengine's own loader goes through
the same path once :func:`register_safe_loader` is called, as each run does.
"""
import os
import pickle
from collections import OrderedDict
from typing import Any, Dict, Tuple

import numpy as np
import torch

TRUST_ENV = 'MMKD_TRUST_CHECKPOINTS'
_HISTORY_TAG = '__mmkd_history_buffer__'


def trusted() -> bool:
    return os.environ.get(TRUST_ENV, '') not in ('', '0', 'false', 'False')


def _teacher_key(role: str) -> str:
    """The config key naming a teacher's checkpoint: ``'teacher'`` -> ``teacher_ckpt``,
    ``"teacher 'swin'"`` -> ``teachers.swin.ckpt``; '' for other roles."""
    if role == 'teacher':
        return 'teacher_ckpt'
    prefix = "teacher '"
    if role.startswith(prefix) and role.endswith("'"):
        return f'teachers.{role[len(prefix):-1]}.ckpt'
    return ''


def load_file(path: str, map_location: Any = 'cpu', role: str = '') -> Any:
    """``torch.load`` with ``weights_only=True`` unless the user opted in.

    Raises FileNotFoundError naming the file (and its ``role``, e.g. ``'teacher'`` or
    ``"teacher 'swin'"`` for a named teacher, with the config key to fix), a
    RuntimeError explaining the opt-in when the file holds other Python objects, and a
    RuntimeError naming the file when it cannot be read at all (truncated, not PyTorch).
    """
    what = f'{role} checkpoint' if role else 'checkpoint'
    if not os.path.isfile(path):
        where = _teacher_key(role)
        hint = (f' ({where} in the config: train the teacher first, or point it at its '
                f'weights; see the README, "Datasets" and "First hour")' if where else '')
        raise FileNotFoundError(f'{what} file not found: {path}{hint}')
    try:
        return torch.load(path, map_location=map_location, weights_only=not trusted())
    except pickle.UnpicklingError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        raise RuntimeError(
            f'refused to load {what} {path}: it holds Python objects other than tensors '
            f'and plain containers, and unpickling them could run code ({reason}). If you '
            f'trust this file, set {TRUST_ENV}=1 (or pass --trust-checkpoints) and run again.'
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        raise RuntimeError(
            f'cannot read {what} {path} ({os.path.getsize(path)} bytes): {reason}. Is it '
            f'truncated (an interrupted download or copy) or not a PyTorch checkpoint?'
        ) from None


def state_dict_of(checkpoint: Any, path: str) -> Dict[str, torch.Tensor]:
    """The weights in a loaded checkpoint (bare state dict or ``{'state_dict': ...}``)."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        checkpoint = checkpoint['state_dict']
    elif isinstance(checkpoint, dict) and isinstance(checkpoint.get('model'), dict):
        checkpoint = checkpoint['model']
    if not isinstance(checkpoint, dict) or not all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise ValueError(f'{path} holds no state dict (expected a dict of tensors, '
                         f'optionally under the key "state_dict")')
    return checkpoint


def load_weights_strict(model: torch.nn.Module, path: str, role: str) -> None:
    """Load ``path`` into ``model``; any missing, unexpected or misshapen key is an error."""
    state = state_dict_of(load_file(path, role=role), path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    misshapen = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                 for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or misshapen:
        hint = ''
        if unexpected and missing:
            hint = ' Does the file belong to another architecture, or carry another key prefix?'
        raise ValueError(
            f'{role} checkpoint {path} does not fit the {role} model: '
            f'{len(missing)} missing keys (first: {missing[:5]}), '
            f'{len(unexpected)} unexpected keys (first: {unexpected[:5]}), '
            f'{len(misshapen)} shape mismatches (first: {misshapen[:3]}).{hint}')
    model.load_state_dict(state, strict=True)


def _clean(value: Any) -> Any:
    from mmengine.logging import HistoryBuffer
    if isinstance(value, HistoryBuffer):
        log, count = value.data
        return {_HISTORY_TAG: True, 'log': torch.from_numpy(np.asarray(log, dtype=np.float64)),
                'count': torch.from_numpy(np.asarray(count, dtype=np.int64)),
                'max_length': int(value.max_length)}
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy()) if value.dtype != object else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, OrderedDict):
        return OrderedDict((k, _clean(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clean(v) for v in value)
    return value


def _restore(value: Any) -> Any:
    from mmengine.logging import HistoryBuffer
    if isinstance(value, dict) and value.get(_HISTORY_TAG):
        return HistoryBuffer(value['log'].numpy().tolist(), value['count'].numpy().tolist(),
                             value['max_length'])
    if isinstance(value, OrderedDict):
        return OrderedDict((k, _restore(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {k: _restore(v) for k, v in value.items()}
    return value


def make_weights_only_clean(checkpoint: Dict[str, Any]) -> None:
    """Replace numpy values and HistoryBuffers in ``checkpoint`` in place."""
    for key in list(checkpoint):
        if key != 'state_dict':
            checkpoint[key] = _clean(checkpoint[key])


def restore_message_hub(checkpoint: Dict[str, Any]) -> None:
    """Undo :func:`make_weights_only_clean` for the message hub, in place."""
    if 'message_hub' in checkpoint:
        checkpoint['message_hub'] = _restore(checkpoint['message_hub'])


def student_state(state: Dict[str, torch.Tensor], prefix: str = 'student.'
                  ) -> Tuple[Dict[str, torch.Tensor], int]:
    """The student's weights from a distiller state dict, prefix removed."""
    out = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    return out, len(out)


def load_local_safely(filename: str, map_location: Any) -> Any:
    """mmengine's loader for local paths, going through :func:`load_file`."""
    return load_file(os.path.expanduser(filename), map_location)


def register_safe_loader() -> None:
    """Make mmengine's checkpoint loader (``load_from``, ``resume``, ``Pretrained`` inits)
    load local files through :func:`load_file` in this process.

    Called when a run is set up (``prepare_cfg``, mmkd's ``Runner``); ``import mmkd``
    alone leaves mmengine's loaders as they are. Calling it again changes nothing.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_safely, force=True)


def save_atomic(obj: Any, path: str) -> None:
    """``torch.save`` to a temporary file, then rename: a kill never leaves half a file."""
    tmp = f'{path}.tmp.{os.getpid()}'
    torch.save(obj, tmp)
    os.replace(tmp, path)
