"""The tick tests' SLOs, scripted evaluations, and a daemon built from them (run in a
subprocess too)."""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from sloguard.app import Parts
from sloguard.burn import Evaluation, WindowReading, evaluate, failed
from sloguard.clock import ManualClock
from sloguard.delivery import Deliverer
from sloguard.lifecycle import LifecyclePolicy
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.paging import PagingPolicy
from sloguard.ports import Source
from sloguard.routing import Matcher, Route
from sloguard.store import Store
from sloguard.tick import Tick
from tests.support.fakes import FakeNotifier, RecordingMetrics

T0 = 1_704_067_200.0


CHECKOUT = SLO(
    name="checkout-availability",
    service="checkout",
    objective_percent=99.9,
    period_seconds=30 * 86400,
    indicator=RatioIndicator("errors", "total"),
    labels=MappingProxyType({"team": "payments"}),
    runbook_url="https://runbooks.example.com/checkout",
)


SEARCH = SLO(
    name="search-latency",
    service="search",
    objective_percent=99.0,
    period_seconds=30 * 86400,
    indicator=RatioIndicator("e", "t"),
)


RATIO = {Severity.OK: 0.0001, Severity.SEV3: 0.004, Severity.SEV2: 0.008, Severity.SEV1: 0.02}


ROUTES = (
    Route(("pd",), frozenset({Severity.SEV1, Severity.SEV2})),
    Route(
        ("og",), frozenset({Severity.SEV3}), Matcher(labels=MappingProxyType({"team": "payments"}))
    ),
    Route(("chat",)),
)


def reading(slo: SLO, severity: Severity, at: float, key: str | None = None) -> Evaluation:
    if severity is Severity.NO_DATA:
        return failed(slo, at, "prometheus unreachable", key=key)
    ratio = RATIO[severity] * (slo.budget / 0.001)
    readings = {w: WindowReading(ratio, 1e6) for w in slo.window_seconds}
    return evaluate(slo, readings, WindowReading(ratio / 10, 1e9), at, key=key)


class Script:
    """An ``evaluate`` that answers from a table: SLO name -> severity, changed between steps."""

    def __init__(self) -> None:
        self.severity: dict[str, Severity] = {}
        self.calls: list[float] = []

    async def __call__(self, slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        self.calls.append(at)
        return [reading(s, self.severity.get(s.name, Severity.OK), at) for s in slos]


def daemon(
    tmp_path: Path,
    script: Script,
    notifiers: Mapping[str, FakeNotifier],
    clock: ManualClock,
    policy: LifecyclePolicy | None = None,
) -> Parts:
    store = Store.open(tmp_path / "state.db")
    tick = Tick(
        slos=[CHECKOUT, SEARCH],
        source=object(),  # type: ignore[arg-type]  # the script never queries it
        evaluate=script,
        paging=PagingPolicy(lifecycle=policy or LifecyclePolicy(), routes=ROUTES),
        store=store,
        clock=clock,
        metrics=RecordingMetrics(),
    )
    return Parts(tick, Deliverer(store, notifiers, clock, rng=random.Random(1)))


def notifiers() -> dict[str, FakeNotifier]:
    return {
        "pd": FakeNotifier("pd", "pagerduty"),
        "og": FakeNotifier("og", "opsgenie"),
        "chat": FakeNotifier("chat", "slack"),
    }


class FileNotifier:
    """A receiver in a file, so that what it got survives the process (one JSON line each)."""

    integration = "webhook"
    rate_limit_key = None
    rate_limit_per_minute = None

    def __init__(self, name: str, log: str, die_after_send: bool) -> None:
        self.name = name
        self.log = log
        self.die_after_send = die_after_send

    async def send(self, notification: object) -> None:
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(notification.to_json()) + "\n")  # type: ignore[attr-defined]
            f.flush()
            os.fsync(f.fileno())
        if self.die_after_send:  # the receiver accepted it; we die before recording that
            os.kill(os.getpid(), signal.SIGKILL)


async def daemon_for_subprocess(mode: str, db: str, log: str) -> None:
    clock = ManualClock(T0)
    store = Store.open(db)
    hook = FileNotifier("hook", log, die_after_send=(mode == "die-in-send"))
    tick = Tick(
        slos=[CHECKOUT],
        source=object(),  # type: ignore[arg-type]
        evaluate=Script(),
        paging=PagingPolicy(routes=(Route(("hook",)),)),
        store=store,
        clock=clock,
    )
    d = Parts(tick, Deliverer(store, {"hook": hook}, clock))
    script = d.tick.evaluate
    assert isinstance(script, Script)
    if mode in ("die-before-send", "die-in-send"):
        script.severity["checkout-availability"] = Severity.SEV1
        await d.run_tick(T0)
        if mode == "die-before-send":
            os.kill(os.getpid(), signal.SIGKILL)  # state and outbox committed, nothing sent
        await d.deliver()
    else:  # restart: deliver what is pending, then the next tick
        await d.deliver()
