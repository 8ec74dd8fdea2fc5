"""Shared fixtures: real Prometheus servers filled with the standard scenarios (session scope).

Each pytest-xdist worker builds its own servers; each server has a fresh temporary data dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from harness import pgserver, scenarios
from harness.promserver import Scenario, serve
from tests.support.prom import Served


def _serve(scenario: Scenario, tmp: pytest.TempPathFactory) -> Iterator[Served]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs the prometheus and promtool binaries (make prometheus)")
    data = scenario.generate()
    with serve(data, base_dir=tmp.mktemp("prom")) as server:
        yield Served(scenario, data, server)


@pytest.fixture(scope="session")
def incidents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """13 h: checkout outage, search 10x burn, idle traffic drop, catalog slowdown."""
    yield from _serve(scenarios.incidents(), tmp_path_factory)


@pytest.fixture(scope="session")
def slow_burn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """4 d 6 h: ledger burns at 2x for 2 days."""
    yield from _serve(scenarios.slow_burn(), tmp_path_factory)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pgserver.PostgresServer]:
    """A real PostgreSQL on a free loopback port (one per worker); tests take a fresh database
    each with ``postgres.fresh_database(name)``."""
    if pgserver.bin_dir() is None:
        reason = "needs Debian's postgresql package (make postgresql)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI runs `make test`, which installs it
        pytest.skip(reason)
    with pgserver.serve() as server:
        yield server
