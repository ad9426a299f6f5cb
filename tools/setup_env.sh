#!/usr/bin/env bash
# Create .venv with the pinned OpenMMLab stack (requirements/constraints.txt).
# Safe to run again: each step is skipped when what it installs is already there.
# mmcv 2.1.0 has no wheel for current torch; it is built once from its sdist
# and the wheel is cached in ${MMKD_CACHE:-~/.cache/mmkd} keyed by mmcv and torch versions.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
C=requirements/constraints.txt
CACHE=${MMKD_CACHE:-$HOME/.cache/mmkd}
PY=${PYTHON:-python3}
pin() { sed -n "s/^$1==//p" "$C"; }
TORCH=$(pin torch); MMCV=$(pin mmcv)

step() { printf '\n[setup] %s\n' "$*"; }

[ -x "$VENV/bin/python" ] || { step "creating $VENV"; "$PY" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
have() { "$VENV/bin/python" - "$1" "$2" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    sys.exit(0 if version(sys.argv[1]).split('+')[0] == sys.argv[2] else 1)
except PackageNotFoundError:
    sys.exit(1)
PYEOF
}

if ! have torch "$TORCH"; then
  step "installing torch $TORCH and torchvision (a few minutes, several GB)"
  # Exact pins keep pip away from the local torch 2.13.0+cpu wheel, with which torchvision fails.
  "${PIP[@]}" install -c "$C" pip wheel "setuptools>=77,<81" torch torchvision
fi

if ! have mmcv "$MMCV"; then
  key="mmcv-$MMCV-torch$TORCH-$("$VENV/bin/python" -c 'import sys;print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  mkdir -p "$CACHE/$key"
  if ! ls "$CACHE/$key"/mmcv-*.whl >/dev/null 2>&1; then
    step "building mmcv $MMCV with ops from source (about 12 minutes on 2 cores, once per machine)"
    tmp=$(mktemp -d)
    "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation -d "$tmp" "mmcv==$MMCV"
    tar -xzf "$tmp"/mmcv-*.tar.gz -C "$tmp"
    src=$(find "$tmp" -maxdepth 1 -type d -name 'mmcv-*')
    # torch >= 2.14 headers require C++20; mmcv's setup.py forces c++14/17.
    if grep -q "C++20 or later" "$("$VENV/bin/python" -c 'import torch,os;print(os.path.dirname(torch.__file__))')/include/ATen/ATen.h"; then
      sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$src/setup.py"
    fi
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$tmp/wheel" "$src"
    cp "$tmp"/wheel/mmcv-*.whl "$CACHE/$key/"
    rm -rf "$tmp"
  fi
  step "installing mmcv $MMCV from $CACHE/$key"
  "${PIP[@]}" install --no-deps "$CACHE/$key"/mmcv-*.whl
fi

if ! have mmpretrain "$(pin mmpretrain)" || ! have pytest "$(pin pytest)" \
    || ! have pytest-xdist "$(pin pytest-xdist)" || ! have matplotlib "$(pin matplotlib)"; then
  step "installing mmengine, mmdet, mmsegmentation, mmpretrain and test tools"
  "${PIP[@]}" install -c "$C" mmengine mmdet mmsegmentation mmpretrain ftfy regex pytest \
    pytest-xdist matplotlib addict yapf opencv-python-headless
fi
if ! have deepforest "$(pin deepforest)"; then
  step "installing deepforest's data files (the wheel only, none of its dependencies)"
  "${PIP[@]}" install --no-deps -c "$C" deepforest
fi
# Checked from outside the repository: from its root, `import mmkd` finds the source folder
# whether or not mmkd is installed.
VPY="$(cd "$VENV" && pwd)/bin/python"
if ! (cd / && "$VPY" -c 'import mmkd' 2>/dev/null); then
  step "installing mmkd (editable)"
  "${PIP[@]}" install --no-deps --no-build-isolation -e .
fi
(cd / && "$VPY" -c 'import torch, torchvision, mmcv, mmcv.ops, mmdet, mmseg, mmpretrain, mmkd; print("[setup] ready: torch", torch.__version__, "mmcv", mmcv.__version__, "mmkd from", mmkd.__path__[0])')
