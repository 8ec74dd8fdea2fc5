"""The per-episode notifier state survives a restart (it is what lets a multi-call notifier
continue instead of starting over), and both implementations of the port agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sloguard.ports import MemoryNotifierState, NotifierState
from sloguard.store import Store


def _sqlite(tmp_path: Path) -> NotifierState:
    return Store.open(tmp_path / "state.db")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_sqlite, id="sqlite"),
        pytest.param(lambda _: MemoryNotifierState(), id="memory"),
    ],
)
def test_state_is_kept_per_notifier_and_episode(
    tmp_path: Path, make: Callable[[Path], NotifierState]
) -> None:
    state = make(tmp_path)
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
