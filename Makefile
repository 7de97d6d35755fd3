# Fresh machine: `make demo` (set up .venv, run the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install demo test test-all lint bench bench-gpu data

install: $(VENV)/.installed

# torch first and pinned in the same command as the project, so pip never pulls a second
# (CUDA) build to satisfy the project's torch>=2.2 range.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]" "$(TORCH)"
	$(BIN)/python -c "import torch; print('torch', torch.__version__)"
	touch $@

# Real Fashion-MNIST (30 MB, Debian/Ubuntu's package) for `blip-rl classify --benchmark fmnist5`
# or pfmnist: the IDX files land in /usr/share/datasets/fashion-mnist/, where they are found.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
data:
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq dataset-fashion-mnist

# The MinAtar sequence (3 games x 500k steps) with BLIP, about 20 minutes on 2 idle CPU cores;
# prints the A matrix, ACC/BWT and the frozen-bit share.
DEMO_ARGS ?=
demo: install
	$(BIN)/blip-rl train --suite minatar --method blip $(DEMO_ARGS)

# The tests in one process per core (pytest-xdist), one torch thread each, a file per process
# at a time (module fixtures are built once).
TEST_ARGS ?= -n auto --dist loadfile
test: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q $(TEST_ARGS)

test-all: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q $(TEST_ARGS) -m ""

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One headline ratio per script, each measured in one run; the last line of each is the ratio.
bench: install
	$(BIN)/python benchmarks/ppo_overhead.py
	$(BIN)/python benchmarks/classify_overhead.py
	$(BIN)/python benchmarks/fisher.py
	$(BIN)/python benchmarks/state_bytes.py
	$(BIN)/python benchmarks/consolidation.py
	$(BIN)/python benchmarks/step_variants.py

# On a lent GPU (at most ~8 minutes): CUDA, BLIP and plain SB3 PPO env-steps/s on the Atari
# trunk (subproc, 16 envs) and their ratio, the Fisher on the GPU, a two-game Atari run.
bench-gpu: install
	$(BIN)/python benchmarks/gpu_check.py --device cuda
