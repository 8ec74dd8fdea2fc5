"""A one-shot command imports what it runs, not the daemon: imports are a third of the CPU
of ``sloguard evaluate`` over 1,000 SLOs (docs/benchmarks.md), so a stray import of the
store, the episode lifecycle or the web server shows up in every run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What `sloguard evaluate` never runs: the daemon's parts and the other commands.
NOT_FOR_EVALUATE = (
    "sloguard.app",
    "sloguard.backtest",
    "sloguard.delivery",
    "sloguard.lifecycle",
    "sloguard.notify",
    "sloguard.records",
    "sloguard.server",
    "sloguard.store",
    "sloguard.supervisor",
    "sloguard.tick",
)


def _imported(*modules: str) -> set[str]:
    """The modules a fresh interpreter holds after importing ``modules`` from this tree."""
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules)
    code += "print(__import__('json').dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("part", NOT_FOR_EVALUATE)
def test_evaluate_does_not_import_the_daemon(part: str, evaluate_imports: set[str]) -> None:
    loaded = sorted(m for m in evaluate_imports if m == part or m.startswith(part + "."))
    assert not loaded, f"sloguard evaluate imports {loaded}"


@pytest.fixture(scope="module")
def evaluate_imports() -> set[str]:
    # What `sloguard evaluate` imports before it asks Prometheus: the command, the SLO loader.
    return _imported("sloguard.cli", "sloguard.cli.evaluate", "sloguard.spec")
