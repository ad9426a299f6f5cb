"""Checkpoints load with weights_only=True; mmkd's writes satisfy it; foreign objects refused."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from conftest import REPO
from mmkd.utils.checkpoint import (TRUST_ENV, load_file, make_weights_only_clean,
                                   register_safe_loader, restore_message_hub)


class Payload:
    """An object whose unpickling runs code."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_runner_checkpoint_content_becomes_weights_only_clean(tmp_path):
    hub = {'log_scalars': {'train/loss': HistoryBuffer([1.5, 0.5], [1, 1])},
           'runtime_info': {'iter': np.int64(7), 'arr': np.arange(3)}, 'resumed_keys': {}}
    ckpt = {'meta': {'seed': np.int64(3)}, 'message_hub': hub,
            'state_dict': {'w': torch.ones(2)}}
    with pytest.raises(Exception):
        torch.save(ckpt, tmp_path / 'raw.pth')
        torch.load(tmp_path / 'raw.pth', weights_only=True)
    make_weights_only_clean(ckpt)
    torch.save(ckpt, tmp_path / 'clean.pth')
    loaded = load_file(str(tmp_path / 'clean.pth'))
    restore_message_hub(loaded)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.mean() == pytest.approx(1.0)
    assert loaded['message_hub']['runtime_info']['iter'] == 7
    assert loaded['meta']['seed'] == 3


def test_foreign_object_is_refused_with_opt_in_named(tmp_path, monkeypatch):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': Payload()}, path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(RuntimeError, match=f'refused to load checkpoint {path}.*{TRUST_ENV}=1'):
        load_file(str(path))


def test_importing_mmkd_leaves_mmengine_loader_alone():
    """Only setting up a run (prepare_cfg, mmkd's Runner) replaces mmengine's local loader."""
    code = '\n'.join([
        'import mmkd',
        'from mmengine.config import Config',
        'from mmengine.runner import checkpoint as c',
        'assert c.CheckpointLoader._schemes[""] is c.load_from_local, "replaced on import"',
        'mmkd.engine.prepare_cfg(Config(dict(model=dict())))',
        'assert c.CheckpointLoader._schemes[""] is mmkd.utils.checkpoint.load_local_safely'])
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, 'PYTHONPATH': REPO})
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_mmengine_loader_goes_through_the_safe_path(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    register_safe_loader()
    path = tmp_path / 'evil.pth'
    torch.save({'x': Payload()}, path)
    with pytest.raises(RuntimeError, match='refused to load checkpoint'):
        _load_checkpoint(str(path), map_location='cpu')


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_file(str(tmp_path / 'nope.pth'))
