# Sourced by the launch scripts: REPO (this checkout, found from the script's own place, so
# any working folder works) and PYTHON ($PYTHON if set, else the repository's .venv, which
# needs no activation, else python on PATH).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python
  [ -x "$REPO/.venv/bin/python" ] && PYTHON="$REPO/.venv/bin/python"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
