"""/readyz of a standby replica: ready, and it says it holds no shard."""

from __future__ import annotations

import pytest

from harness.clock import VirtualClock
from sloguard.server import Readiness


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        pytest.param("", "ok", id="single-or-holder"),
        pytest.param("ok: a standby replica, it holds no shard", "holds no shard", id="standby"),
    ],
)
def test_a_standby_is_ready_and_says_so(note: str, reason: str) -> None:
    readiness = Readiness(VirtualClock(), interval_seconds=10)
    readiness.config_loaded()
    readiness.tick_succeeded(note)
    ready, said = readiness.check()
    assert ready
    assert reason in said
