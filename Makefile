# Set-up and everyday commands. Each target creates the virtualenv (.venv) when it is missing.
# Two installs, each remembered by a stamp file: generating needs only the runtime dependencies
# (`pip install -e .`); the tests, linters and the AWS emulator add the development tools (`.[dev]`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp

.PHONY: generate test lint demo emulator clean

$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

## generate: build every template, lint it, write output/
generate: $(RUNTIME_STAMP)
	$(PY) generate.py

## lint: ruff, mypy, and the check that output/ is up to date
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) generate.py --check

## test: lint, then every test tier (unit, deploy, integration) on one worker per core; fails if a tier collects nothing
test: lint
	TAP_REQUIRE_TIERS=unit,deploy,integration $(PY) -m pytest -n auto --dist worksteal

## demo: deploy output/tap-stack.json to a local AWS emulator on 127.0.0.1, print outputs, stop the emulator
demo: $(DEV_STAMP)
	$(PY) scripts/demo.py

## emulator: run the AWS emulator on 127.0.0.1:$(PORT) in the foreground, print the lines to export; Ctrl-C stops it
PORT ?= 5000
emulator: $(DEV_STAMP)
	$(PY) -m emulator --port $(PORT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
