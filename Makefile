# make test  - set up .venv if missing, then run the whole test suite (CPU): TEST_JOBS test
#              processes at once (default 2), each on OMP_NUM_THREADS threads (default 1)
# make demo  - set up .venv if missing, then distil a detector with LONDON on real pixels
PY := .venv/bin/python
STAMP := .venv/.mmkd-stack
TEST_JOBS ?= 2

.PHONY: setup test demo data clean

$(STAMP): requirements/constraints.txt tools/setup_env.sh setup.cfg
	bash tools/setup_env.sh
	touch $(STAMP)

setup: $(STAMP) data

data:
	@test -d /usr/share/datasets/fashion-mnist || { \
	  echo "[setup] installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq dataset-fashion-mnist; fi; }

test: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -q -n $(TEST_JOBS) --dist worksteal \
	  --durations=15 tests

demo: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(PY) tools/demo.py --work-dir work_dirs/demo

clean:
	rm -rf work_dirs .pytest_cache
