"""The tick, driven step by step with scripted evaluations, a real store and fake notifiers."""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sloguard.burn import Evaluation, WindowReading, evaluate
from sloguard.cli.evaluate import as_json
from sloguard.clock import ManualClock
from sloguard.collector import CollectorPause
from sloguard.errors import StoreError
from sloguard.lifecycle import EpisodeState, Phase
from sloguard.model import SLO, Severity
from sloguard.paging import PagingPolicy
from sloguard.ports import Source
from sloguard.routing import Route
from sloguard.sink import TickOutcome
from sloguard.store import Store
from tests.support.fakes import RecordingMetrics
from tests.support.ticks import (
    SEARCH,
    T0,
    Script,
    daemon,
    notifiers,
    reading,
)

REPO = Path(__file__).resolve().parents[2]

# Error ratios that put a 99.9 % SLO at a given severity when every window reads the same.


def test_a_whole_episode_step_by_step(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    script = Script()
    fakes = notifiers()
    d = daemon(tmp_path, script, fakes, clock)
    steps = [
        (0, Severity.SEV3),
        (60, Severity.SEV1),
        (120, Severity.SEV2),  # de-escalation: recorded, not paged
        (180, Severity.OK),
        (300, Severity.SEV2),  # re-burn inside the quiet period: same episode
        (360, Severity.OK),
        (660, Severity.OK),  # quiet for 5 minutes: resolved
    ]
    phases = []
    for offset, severity in steps:
        script.severity["checkout-availability"] = severity
        clock.set(T0 + offset)
        report = asyncio.run(d.once(T0 + offset))
        (checkout,) = [s for s in report.slos if s.key == "checkout-availability"]
        phases.append(checkout.phase)
    assert phases[-1] is Phase.OK
    assert fakes["og"].kinds == ["declared", "resolved"]
    assert fakes["pd"].kinds == ["declared", "resolved"]  # pd's incident starts at SEV1
    assert fakes["chat"].kinds == ["declared", "escalated", "resolved"]
    episodes = {n.episode_id for f in fakes.values() for n in f.accepted}
    assert len(episodes) == 1  # one incident per episode, everywhere
    assert all(f.violations == [] and f.duplicates == 0 for f in fakes.values())
    pd_declared = fakes["pd"].accepted[0]
    assert pd_declared.severity == "SEV1"
    assert pd_declared.summary.startswith("checkout-availability SEV1: burning 20.0x")
    assert pd_declared.runbook_url == "https://runbooks.example.com/checkout"
    assert fakes["pd"].accepted[1].severity == "SEV1"  # the resolve carries the peak
    (record,) = d.tick.store.episodes("checkout-availability")
    kinds = [t.kind for t in record.transitions]
    assert kinds == [
        "declared",
        "escalated",
        "deescalated",
        "quiet",
        "refired",
        "quiet",
        "resolved",
    ]
    assert all(x.status == "delivered" for x in record.deliveries)


def test_replaying_the_same_instant_changes_nothing(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    script = Script()
    fakes = notifiers()
    d = daemon(tmp_path, script, fakes, clock)
    script.severity["checkout-availability"] = Severity.SEV1
    asyncio.run(d.once(T0))
    again = asyncio.run(d.once(T0))
    earlier = asyncio.run(d.once(T0 - 600))  # a clock stepped backwards
    assert again.slos[0].events == earlier.slos[0].events == ()
    assert fakes["pd"].kinds == ["declared"]


def test_prometheus_down_never_resolves_and_goes_stale_once(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    script = Script()
    fakes = notifiers()
    d = daemon(tmp_path, script, fakes, clock)
    script.severity["checkout-availability"] = Severity.SEV1
    asyncio.run(d.once(T0))
    script.severity["checkout-availability"] = Severity.NO_DATA
    for minute in range(1, 30):
        asyncio.run(d.once(T0 + 60 * minute))
    assert fakes["pd"].kinds == ["declared", "stale"]
    assert "prometheus unreachable" in fakes["pd"].accepted[1].summary
    assert d.tick.store.load_states()["checkout-availability"].open


def test_an_episode_whose_key_disappears_goes_stale(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    script = Script()
    fakes = notifiers()
    d = daemon(tmp_path, script, fakes, clock)
    script.severity["checkout-availability"] = Severity.SEV1
    asyncio.run(d.once(T0))
    d.tick.slos = [SEARCH]  # the SLO was removed from the definitions
    asyncio.run(d.once(T0 + 60))
    asyncio.run(d.once(T0 + 700))
    assert fakes["pd"].kinds == ["declared", "stale"]
    assert "no longer defined" in fakes["pd"].accepted[1].summary


CRASHING = r"""
import asyncio, json, os, random, signal, sys
sys.path.insert(0, sys.argv[1])
from tests.support.ticks import daemon_for_subprocess
mode, db, log = sys.argv[2], sys.argv[3], sys.argv[4]
asyncio.run(daemon_for_subprocess(mode, db, log))
"""


@pytest.mark.parametrize(
    ("mode", "expected_lines"),
    [
        pytest.param("die-before-send", 1, id="killed-between-state-write-and-send"),
        pytest.param("die-in-send", 2, id="killed-after-the-receiver-accepted"),
    ],
)
def test_sigkill_loses_nothing_and_opens_nothing_twice(
    tmp_path: Path, mode: str, expected_lines: int
) -> None:
    db, log = str(tmp_path / "state.db"), str(tmp_path / "received.jsonl")
    first = subprocess.run(
        [sys.executable, "-c", CRASHING, str(REPO), mode, db, log],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert first.returncode == -signal.SIGKILL, first.stderr.decode()
    second = subprocess.run(
        [sys.executable, "-c", CRASHING, str(REPO), "restart", db, log],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert second.returncode == 0, second.stderr.decode()
    received = [json.loads(line) for line in Path(log).read_text().splitlines()]
    # At least once: a send interrupted by the crash is repeated, with the same ids, which is
    # what the vendors deduplicate on. Exactly one incident, nothing left pending.
    assert len(received) == expected_lines
    assert {(r["kind"], r["episode_id"], r["event_id"]) for r in received} == {
        (received[0]["kind"], received[0]["episode_id"], received[0]["event_id"])
    }
    store = Store.open(db)
    assert store.counts().pending == 0
    assert store.counts().delivered == 1
    store.close()


def test_a_page_no_route_sends_anywhere_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Routes that cover SEV1 only: a SEV3 burn is declared and tracked, but nobody hears of
    it. That must not pass silently: the log says so, with the SLO and the severity."""
    clock = ManualClock(T0)
    script = Script()
    fakes = notifiers()
    d = daemon(tmp_path, script, fakes, clock)
    d.tick.paging = PagingPolicy(routes=(Route(("pd",), frozenset({Severity.SEV1})),))
    script.severity["search-latency"] = Severity.SEV3
    with caplog.at_level("WARNING", logger="sloguard.tick"):
        asyncio.run(d.once(T0))
    unrouted = [r for r in caplog.records if "no route" in r.getMessage()]
    assert len(unrouted) == 1, [r.getMessage() for r in caplog.records]
    assert "search-latency" in unrouted[0].getMessage()
    assert "SEV3" in unrouted[0].getMessage()
    assert all(not f.accepted for f in fakes.values())

    script.severity["search-latency"] = Severity.SEV1  # escalation reaches pd: no warning
    caplog.clear()
    with caplog.at_level("WARNING", logger="sloguard.tick"):
        asyncio.run(d.once(T0 + 60))
    assert not [r for r in caplog.records if "no route" in r.getMessage()]
    assert fakes["pd"].accepted


class CountingStore(Store):
    """The real store, counting full reads of the episode states; can fail one commit."""

    loads = 0
    fail_next_commit = False

    def load_states(self) -> dict[str, EpisodeState]:
        self.loads += 1
        return super().load_states()

    def commit_many(self, changes: Any, at: float, *, seen: Any = ()) -> list[int]:
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise StoreError("disk full (test)")
        return super().commit_many(changes, at, seen=seen)


def test_the_states_are_read_once_then_kept_as_committed(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    script = Script()
    d = daemon(tmp_path, script, notifiers(), clock)
    store = CountingStore.open(tmp_path / "state.db")
    assert isinstance(store, CountingStore)
    d.tick.store = store
    for n, severity in enumerate([Severity.OK, Severity.SEV1, Severity.SEV1, Severity.OK]):
        script.severity["checkout-availability"] = severity
        asyncio.run(d.run_tick(T0 + 30 * n))
        assert store.loads == 1, "read at the first tick only"
        assert d.tick.states() == store.load_states(), "what the daemon holds is what is committed"
        store.loads = 1
    # A commit that fails leaves the database as it was: the next tick reads it again.
    store.fail_next_commit = True
    script.severity["checkout-availability"] = Severity.SEV2
    with pytest.raises(StoreError):
        asyncio.run(d.run_tick(T0 + 120))
    asyncio.run(d.run_tick(T0 + 150))
    assert store.loads == 2
    assert d.tick.states() == store.load_states()
    assert d.tick.states()["checkout-availability"].last_at == T0 + 150


@pytest.mark.parametrize("host_disabled", [False, True])
def test_a_tick_pauses_the_garbage_collector_and_restores_it(
    tmp_path: Path, host_disabled: bool
) -> None:
    seen: list[bool] = []

    async def evaluate(slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        seen.append(gc.isenabled())
        if at > T0:
            raise RuntimeError("boom")
        return [reading(s, Severity.OK, at) for s in slos]

    d = daemon(tmp_path, Script(), notifiers(), ManualClock(T0))
    d.tick.evaluate = evaluate
    d.tick.collector = CollectorPause()
    if host_disabled:
        gc.disable()
    try:
        asyncio.run(d.run_tick(T0))
        assert gc.isenabled() is not host_disabled
        with pytest.raises(RuntimeError):
            asyncio.run(d.run_tick(T0 + 30))
        assert gc.isenabled() is not host_disabled
    finally:
        gc.enable()
    assert seen == [False, False]


def test_idle_keys_are_not_rewritten_and_a_restart_keeps_their_last_evaluation(
    tmp_path: Path,
) -> None:
    """An idle key (OK, no episode) changes only in last_at each tick: the store records that
    alone, not the state. A restarted daemon still knows the last evaluation of every key:
    replaying it changes nothing, and a run of burn above 1x that starts then counts the
    seconds since that evaluation, not since the state was last written."""
    clock = ManualClock(T0)
    script = Script()
    first = daemon(tmp_path, script, notifiers(), clock)
    for n in range(3):  # T0 writes both states; T0+30 and T0+60 only move last_at
        asyncio.run(first.run_tick(T0 + 30 * n))
    db = sqlite3.connect(tmp_path / "state.db")
    states = dict(db.execute("SELECT slo, state FROM slo_state").fetchall())
    db.close()
    assert {json.loads(s)["last_at"] for s in states.values()} == {T0}, "not rewritten"
    first.tick.store.close()

    again = daemon(tmp_path, script, notifiers(), clock)
    assert {s.last_at for s in again.tick.states().values()} == {T0 + 60}
    replay = asyncio.run(again.run_tick(T0 + 60))
    assert [r.events for r in replay.slos] == [(), ()]
    assert again.tick.states() == again.tick.store.load_states()

    async def burning(slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        # The 5m window burns at 2x (a run), no tier fires: still OK.
        out = []
        for slo in slos:
            readings = {w: WindowReading(0.0001, 1e6) for w in slo.window_seconds}
            readings[300] = WindowReading(2 * slo.budget, 1e6)
            out.append(evaluate(slo, readings, WindowReading(0.0001, 1e9), at))
        return out

    again.tick.evaluate = burning
    report = asyncio.run(again.run_tick(T0 + 90))
    assert {e.severity for e in report.evaluations} == {Severity.OK}
    state = again.tick.states()["checkout-availability"]
    assert state.burning_since == T0 + 90
    assert state.run_burn_seconds == pytest.approx(2 * 30)  # since T0+60, not T0


def test_a_tick_reports_what_it_did_to_its_metrics(tmp_path: Path) -> None:
    d = daemon(tmp_path, Script(), notifiers(), ManualClock(T0))
    asyncio.run(d.once(T0))
    metrics = d.tick.metrics
    assert isinstance(metrics, RecordingMetrics)
    assert [outcome for _, outcome in metrics.ticks] == [TickOutcome.SUCCESS]
    assert metrics.fast == [(None, 0)]  # a regular tick; nothing on the fast path
    assert metrics.prometheus_up is True
    assert metrics.outbox == (0, 0)


def test_the_status_api_and_evaluate_json_show_one_shape(tmp_path: Path) -> None:
    script = Script()
    script.severity["checkout-availability"] = Severity.SEV2
    d = daemon(tmp_path, script, notifiers(), ManualClock(T0))
    report = asyncio.run(d.once(T0))
    shown = d.status()["slos"]
    assert shown == as_json(report.evaluations, d.tick.slos)
    assert shown[0]["severity"] == "SEV2"
    assert shown[0]["error"] is None
