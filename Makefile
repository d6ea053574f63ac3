# Set-up and everyday commands. Each target creates the virtualenv (.venv) when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: generate test lint demo emulator clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## generate: build every template, lint it, write output/
generate: $(STAMP)
	$(PY) generate.py

## lint: ruff, mypy, and the check that output/ is up to date
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) generate.py --check

## test: lint, then every test tier (unit, deploy, integration); fails if a tier collects nothing
test: lint
	TAP_REQUIRE_TIERS=unit,deploy,integration $(PY) -m pytest

## demo: deploy output/tap-stack.json to a local AWS emulator on 127.0.0.1, print outputs, stop the emulator
demo: $(STAMP)
	$(PY) scripts/demo.py

## emulator: run the AWS emulator on 127.0.0.1:$(PORT) in the foreground, print the lines to export; Ctrl-C stops it
PORT ?= 5000
emulator: $(STAMP)
	$(PY) -m emulator --port $(PORT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
