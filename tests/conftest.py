"""Shared fixtures: generated real-pixel datasets and helpers to run the tools."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_ROOT = '/usr/share/datasets/fashion-mnist'
# The suite's peak in pytest's temp folder: 2.5 GB of checkpoints (measured 2026-12-07, with
# only failed tests' folders kept, setup.cfg); MMKD_TEST_MIN_FREE_GB overrides it.
MIN_FREE_GB = 3.0


def pytest_sessionstart(session):
    """Stop at once, with one message, where the temp folder cannot hold the suite's
    checkpoints: a full disk would otherwise fail dozens of tests with ENOSPC."""
    if hasattr(session.config, 'workerinput'):  # an xdist worker: its controller checked
        return
    text = os.environ.get('MMKD_TEST_MIN_FREE_GB', str(MIN_FREE_GB))
    try:
        need = float(text)
    except ValueError:
        raise pytest.UsageError(f'MMKD_TEST_MIN_FREE_GB={text!r}: expected a number of GB')
    basetemp = session.config.option.basetemp
    folder = os.path.abspath(basetemp) if basetemp else tempfile.gettempdir()
    while not os.path.isdir(folder):  # --basetemp's folder is made later: its nearest parent
        folder = os.path.dirname(folder)
    free = shutil.disk_usage(folder).free / 1e9
    if free < need:
        pytest.exit(f'{folder} has {free:.1f} GB free; the suite needs {need:g} GB '
                    f'there for its checkpoints. Free some space, point pytest at another disk '
                    f'with --basetemp (or TMPDIR), or set MMKD_TEST_MIN_FREE_GB (0: no check) '
                    f'to run a few tests.', returncode=1)


def run_tool(args, timeout=900, env=None, check=True):
    """Run ``python tools/...`` (or a script) from the repo root, on the suite's
    OMP_NUM_THREADS (2 where unset); fail with its output."""
    full_env = {'OMP_NUM_THREADS': '2', **os.environ, 'PYTHONPATH': REPO, **(env or {})}
    cmd = args if args[0].endswith('.sh') or args[0] == 'bash' else [sys.executable, *args]
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


@pytest.fixture(scope='session')
def fashion_voc(tmp_path_factory):
    """A tiny VOC-format detection/segmentation set of real Fashion-MNIST items."""
    if not os.path.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing: `make test` installs dataset-fashion-mnist')
    from mmkd.testing import make_fashion_voc
    root = tmp_path_factory.mktemp('fashion_voc')
    make_fashion_voc(str(root), num_train=8, num_test=4, img_size=128, max_objects=3, seed=0)
    return str(root)


@pytest.fixture(scope='session')
def fashion_mnist(tmp_path_factory):
    """Real Fashion-MNIST in the layout mmpretrain's FashionMNIST reads."""
    if not os.path.isdir(FASHION_ROOT):
        pytest.skip(f'{FASHION_ROOT} missing: `make test` installs dataset-fashion-mnist')
    out = tmp_path_factory.mktemp('fashion_mnist')
    run_tool(['tools/dataset_converters/prepare_fashion_mnist.py', str(out)])
    return str(out) + '/'
