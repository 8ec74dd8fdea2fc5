"""The per-episode notifier state survives a restart (it is what lets a multi-call notifier
continue instead of starting over), and every implementation of the port agrees: SQLite,
PostgreSQL and memory."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pgserver import PostgresServer
from sloguard.ports import MemoryNotifierState, NotifierState
from sloguard.store import AnyStore, PostgresStore, Store

_DATABASES = itertools.count()


def _fresh(postgres: PostgresServer) -> str:
    return postgres.fresh_database(f"notifier_state_{next(_DATABASES)}")


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NotifierState]:
    """The port on every implementation: SQLite in a temporary file, PostgreSQL in a fresh
    database of the session's real server, and in memory."""
    if request.param == "memory":
        yield MemoryNotifierState()
        return
    store: AnyStore
    if request.param == "sqlite":
        store = Store.open(tmp_path / "state.db")
    else:
        store = PostgresStore.open(_fresh(request.getfixturevalue("postgres")))
    yield store
    store.close()


def test_state_is_kept_per_notifier_and_episode(state: NotifierState) -> None:
    assert state.notifier_state("war-room", "ep1") == {}
    state.save_notifier_state("war-room", "ep1", {"channel": "C1", "done": ["topic"]}, 1.0)
    state.save_notifier_state("war-room", "ep1", {"channel": "C1", "done": ["topic", "x"]}, 2.0)
    state.save_notifier_state("tracker", "ep1", {"issue": "OPS-1"}, 2.0)
    assert state.notifier_state("war-room", "ep1") == {"channel": "C1", "done": ["topic", "x"]}
    assert state.notifier_state("tracker", "ep1") == {"issue": "OPS-1"}
    assert state.notifier_state("war-room", "ep2") == {}


def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.db")
    store.save_notifier_state("war-room", "ep1", {"channel": "C1"}, 1.0)
    store.close()
    reopened = Store.open(tmp_path / "state.db")
    assert reopened.notifier_state("war-room", "ep1") == {"channel": "C1"}
    reopened.close()


def test_postgres_state_survives_a_restart(postgres: PostgresServer) -> None:
    url = _fresh(postgres)
    store = PostgresStore.open(url)
    store.save_notifier_state("war-room", "ep1", {"channel": "C1"}, 1.0)
    store.close()
    reopened = PostgresStore.open(url)
    assert reopened.notifier_state("war-room", "ep1") == {"channel": "C1"}
    reopened.close()
