"""Clock steps (NTP) forwards and backwards under the daemon's loop: no burst of duplicate pages.

The daemon's loop reads the wall clock for each tick's instant; a step moves that instant back
or far forward between two ticks. The episode must keep its identity (one dedup key), and the
outbox must not fill with repeated declarations.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sloguard.clock import ManualClock
from sloguard.lifecycle import LifecyclePolicy
from sloguard.model import Severity
from tests.support.fakes import FakeNotifier
from tests.support.ticks import T0, Script, daemon, notifiers


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([30, -3600, 30, 30], id="one-hour-back"),
        pytest.param([30, -60, -60, 30, 30], id="repeated-small-steps-back"),
        pytest.param([30, 6 * 3600, 30], id="six-hours-forward"),
        pytest.param([30, -3600, 2 * 3600, -600, 30], id="back-and-forth"),
    ],
)
def test_clock_steps_never_page_an_episode_twice(steps: list[int], tmp_path: Path) -> None:
    script = Script()
    clock = ManualClock(T0)
    fakes: dict[str, FakeNotifier] = notifiers()
    d = daemon(tmp_path, script, fakes, clock, LifecyclePolicy(quiet_period_seconds=300))
    script.severity["checkout-availability"] = Severity.SEV1

    async def go() -> None:
        await d.once(clock.now())
        for step in steps:
            clock.advance(step)
            await d.once(clock.now())

    asyncio.run(go())
    pd = fakes["pd"]
    sent = [(n.kind.value, n.episode_id) for n in pd.accepted]
    assert pd.kinds.count("declared") == 1, sent
    assert len({e for _, e in sent}) == 1, sent  # one episode, one dedup key
    assert pd.duplicates == 0, sent
    assert pd.violations == []
    assert d.tick.store.counts().pending == 0
