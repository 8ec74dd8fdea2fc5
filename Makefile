# sloguard's two front doors: `make demo` and `make test`. Both work on a fresh Debian machine
# as root: they create .venv, install the project, and install Debian's prometheus if missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help deps prometheus lint test test-fast demo bench soak rules clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

deps: $(VENV)/.installed prometheus  ## virtualenv with sloguard and its test extras, plus prometheus

prometheus:  ## Debian's prometheus + promtool + alertmanager, only when missing
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null \
	    || ! command -v prometheus-alertmanager >/dev/null; then \
	  echo "installing Debian's prometheus packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	fi

lint: $(VENV)/.installed  ## ruff, mypy --strict, the import-layer contract
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: deps lint  ## the whole suite (what CI runs)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: $(VENV)/.installed  ## unit tests only, no real Prometheus
	$(PY) -m pytest -m "not prometheus and not slow" $(PYTEST_ARGS)

demo: deps  ## a real Prometheus, an outage, pages and incidents arriving, then recovery
	$(PY) -m sloguard.demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
