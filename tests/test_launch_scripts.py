"""The launch scripts run the repository's .venv python without activation, from any folder;
the tools explain themselves with --help."""
import os
import shutil
import subprocess

import pytest

from conftest import FASHION_ROOT, REPO, run_tool
from test_e2e_classification import free_port

BASH = shutil.which('bash')
SCRIPTS = {  # script: (its arguments, the tool it starts)
    'dist_train.sh': (['cfg.py', '2'], 'train.py'),
    'dist_test.sh': (['cfg.py', 'ckpt.pth', '2'], 'test.py'),
    'slurm_train.sh': (['partition', 'job', 'cfg.py', 'work'], 'train.py'),
}


def bare_path(tmp_path):
    """A PATH of one folder holding ``dirname`` (the scripts' one command) and no python."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    os.symlink(shutil.which('dirname'), bin_dir / 'dirname')
    return bin_dir


def recorder(path, log):
    """An executable that appends its name and arguments to ``log``."""
    path.write_text(f'#!/bin/sh\necho "$0 $*" >> {log}\n')
    path.chmod(0o755)


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_scripts_use_the_venv_python_from_any_folder(tmp_path, script):
    bin_dir, log = bare_path(tmp_path), tmp_path / 'calls.txt'
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    for name in (script, 'launch_env.sh'):
        shutil.copy(os.path.join(REPO, 'tools', name), repo / 'tools' / name)
    (repo / '.venv' / 'bin').mkdir(parents=True)
    recorder(repo / '.venv' / 'bin' / 'python', log)
    recorder(bin_dir / 'srun', log)  # slurm_train.sh hands the python command to srun
    args, tool = SCRIPTS[script]
    proc = subprocess.run([BASH, str(repo / 'tools' / script), *args], cwd=tmp_path,
                          env={'PATH': str(bin_dir), 'HOME': str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    call = log.read_text().split()
    assert str(repo / '.venv' / 'bin' / 'python') in call, call
    assert str(repo / 'tools' / tool) in call, call


def test_dist_train_runs_a_shipped_config_offline_without_activation(tmp_path):
    """As a user types it, from the repository root with no python on PATH: two ranks train
    a shipped config on the offline data and write a student checkpoint."""
    if not os.access(os.path.join(REPO, '.venv', 'bin', 'python'), os.X_OK):
        pytest.skip('no .venv in this checkout (make setup creates it)')
    if not os.path.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing: `make test` installs dataset-fashion-mnist')
    env = {'PATH': str(bare_path(tmp_path)), 'HOME': str(tmp_path), 'OMP_NUM_THREADS': '1',
           'PORT': str(free_port())}
    work = tmp_path / 'work'
    config = 'configs/lckd/cifar100_resnet56_resnet20.py'
    proc = subprocess.run([BASH, 'tools/dist_train.sh', config,
                           '2', '--offline', str(tmp_path / 'data'), '--work-dir', str(work),
                           '--cfg-options', 'train_cfg.max_epochs=1'],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '[--offline]' in proc.stdout and 'the teacher is random' in proc.stdout
    assert (work / 'epoch_1_student.pth').is_file()


def test_export_student_explains_itself():
    out = run_tool(['tools/export_student.py', '--help']).stdout
    assert 'Export the student of a distillation checkpoint' in out
    assert 'OUT.py' in out
