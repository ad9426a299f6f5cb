"""Interruptions and distributed failures lose nothing: SIGKILL, resume, dead ranks."""
import os
import signal
import subprocess
import sys
import time

import torch
from mmengine.config import Config

from conftest import REPO
from e2e import scalars, weights
from test_e2e_classification import free_port, kd_config


def tool_cmd(*args):
    return [sys.executable, *args]


def env():
    return {**os.environ, 'PYTHONPATH': f'{REPO}:{os.path.join(REPO, "tests")}',
            'OMP_NUM_THREADS': '1'}


def run(cmd, timeout=600):
    proc = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def assert_same_weights(a, b):
    a, b = weights(a), weights(b)
    assert set(a) == set(b)
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-5, atol=1e-7), key


def test_sigkill_after_a_checkpoint_then_resume_matches_uninterrupted(tmp_path, fashion_mnist):
    cfg = kd_config(tmp_path, fashion_mnist, num_train=64)
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    run(tool_cmd('tools/train.py', cfg, '--work-dir', str(full),
                 '--cfg-options', 'train_cfg.max_epochs=3'))
    proc = subprocess.Popen(tool_cmd('tools/train.py', cfg, '--work-dir', str(killed),
                                     '--cfg-options', 'train_cfg.max_epochs=3'),
                            cwd=REPO, env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (killed / 'epoch_1_student.pth').exists():  # written after epoch_1.pth
        assert proc.poll() is None and time.time() < deadline, 'run ended before epoch 1'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / 'epoch_3.pth').exists()
    run(tool_cmd('tools/train.py', cfg, '--work-dir', str(killed), '--resume',
                 '--cfg-options', 'train_cfg.max_epochs=3'))
    assert_same_weights(full / 'epoch_3.pth', killed / 'epoch_3.pth')
    assert_same_weights(full / 'epoch_3_student.pth', killed / 'epoch_3_student.pth')


def test_checkpoints_are_renamed_into_place(tmp_path, fashion_mnist, monkeypatch):
    """A save that dies half-way leaves the previous checkpoint and no truncated file."""
    from mmkd.engine.runner import Runner
    saved = []

    def fake_save(self, out_dir, filename, *args, **kwargs):
        saved.append(filename)
        with open(os.path.join(out_dir, filename), 'wb') as f:
            f.write(b'half')
        raise KeyboardInterrupt  # killed while writing

    monkeypatch.setattr('mmengine.runner.Runner.save_checkpoint', fake_save)
    runner = Runner.__new__(Runner)
    try:
        runner.save_checkpoint(str(tmp_path), 'epoch_2.pth')
    except KeyboardInterrupt:
        pass
    assert saved[0].startswith('.epoch_2.pth.tmp.')
    assert not (tmp_path / 'epoch_2.pth').exists() and not os.listdir(tmp_path)


def two_process(cfg, work, *extra, timeout=600):
    return subprocess.run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(work),
                           *extra], cwd=REPO, timeout=timeout, capture_output=True, text=True,
                          env={**env(), 'PYTHON': sys.executable, 'PORT': str(free_port()),
                               'MMKD_DIST_TIMEOUT': '60'})


def test_two_process_resume_matches_uninterrupted(tmp_path, fashion_mnist):
    cfg = kd_config(tmp_path, fashion_mnist, batch_size=4, num_train=32, norm='GN')
    full, part = tmp_path / 'full', tmp_path / 'part'
    for work, epochs, resume in ((full, 2, []), (part, 1, []), (part, 2, ['--resume'])):
        proc = two_process(cfg, work, *resume, '--cfg-options', f'train_cfg.max_epochs={epochs}')
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_same_weights(full / 'epoch_2.pth', part / 'epoch_2.pth')
    assert [r['iter'] for r in scalars(str(part))] == [5, 6, 7, 8]


def test_a_dead_rank_ends_the_run_instead_of_hanging(tmp_path, fashion_mnist):
    cfg = Config.fromfile(kd_config(tmp_path, fashion_mnist, batch_size=4, num_train=32))
    cfg.custom_imports = dict(imports=['mmkd', 'kill_hook'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='DieAtIterHook', rank=1, iter=2)]
    cfg.dump(str(tmp_path / 'dies.py'))
    start = time.time()
    proc = two_process(str(tmp_path / 'dies.py'), tmp_path / 'work', timeout=300)
    assert proc.returncode != 0
    assert time.time() - start < 240
