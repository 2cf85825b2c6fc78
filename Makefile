# Two commands a newcomer runs on a fresh machine (see README):
#   make run    create .venv, install shopgym (no dev tools), run the main job
#   make test   create .venv, install shopgym with the test tools, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: run test lint bench docs clean

# torch comes first, so that resolving shopgym's dependencies does not pull a multi-GB CUDA build onto a machine
# without an NVIDIA GPU: there, PyTorch's CPU wheel index (isolated from local pip settings, 5 s timeout, no
# retries, so an unreachable index fails at once), else a CPU build pip is configured to find (torch==2.13.0),
# else any torch>=2.3. With a GPU, the ordinary resolve takes the CUDA build.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then \
		$(PIP) install --quiet --isolated --timeout 5 --retries 0 --index-url $(TORCH_CPU_INDEX) "torch>=2.3" 2>/dev/null \
		|| { echo "PyTorch's CPU index unavailable: installing the torch pip is configured to find"; \
		     $(PIP) install --quiet "torch==2.13.0" || $(PIP) install --quiet "torch>=2.3"; }; \
	fi

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/shopgym quickstart

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -n 2

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(VENV)/.installed-run
	$(BIN)/python benchmarks/bench_core.py

# NO_MKDOCS_2_WARNING silences Material for MkDocs' end-of-life banner, a notice about the theme, not the docs.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(VENV)
