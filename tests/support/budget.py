"""A scripted error budget driven through the daemon's own tick, outbox and delivery.

The evaluations are scripted (a budget drifting through the policy's lines), everything after
them is the daemon's: the routes and budget policy of a real config file, the tick, the store,
the delivery loop and real notifiers posting to the local receivers. No tests here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import httpx

from sloguard.app import paging_policy
from sloguard.burn import Evaluation, WindowReading, evaluate
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.delivery import Deliverer
from sloguard.model import SLO, RatioIndicator
from sloguard.notify import build_notifier
from sloguard.ports import Source
from sloguard.store import Store
from sloguard.tick import Tick

T0 = 1_704_067_200.0
TICK_SECONDS = 30.0
CHECKOUT = SLO("checkout-availability", "checkout", 99.9, 30 * 86400, RatioIndicator("e", "t"))


def noisy_budget(seed: int) -> list[float]:
    """60 % -> 40 % -> hovering at 50 % -> -5 % -> hovering at 0 % -> 60 %, +/- 2 points."""
    rng = random.Random(seed)
    trend = [0.60 - 0.002 * i for i in range(100)]  # through 50 %
    trend += [0.50] * 60  # on the line
    trend += [0.50 - 0.005 * i for i in range(111)]  # through 25 % and 0 %, to -5 %
    trend += [0.0] * 60  # on the exhaustion line
    trend += [0.0 + 0.005 * i for i in range(121)]  # back to 60 %
    return [t + rng.uniform(-0.02, 0.02) for t in trend]


class Script:
    """An ``evaluate`` whose budget left follows ``budget``, one value a tick; windows at 0.1x."""

    def __init__(self, budget: list[float]) -> None:
        self.budget = budget
        self.i = 0

    async def __call__(self, slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        out = []
        for slo in slos:
            spent = (1.0 - self.budget[self.i]) * slo.budget
            windows = {w: WindowReading(0.0001, 1e6) for w in slo.window_seconds}
            out.append(evaluate(slo, windows, WindowReading(spent, 1e9), at))
        self.i += 1
        return out


async def drive(config_path: Path, budget: list[float], start: float = T0) -> None:
    """One tick and one outbox drain per value of ``budget``, ``TICK_SECONDS`` apart."""
    config = load_config(config_path)
    clock = ManualClock(start)
    assert config.state_path is not None
    store = Store.open(config.state_path)
    try:
        async with httpx.AsyncClient() as http:
            notifiers = {n.name: build_notifier(n, http) for n in config.notifiers}
            tick = Tick(
                slos=[CHECKOUT],
                source=object(),  # type: ignore[arg-type]  # the script never queries it
                evaluate=Script(budget),
                paging=paging_policy(config),
                store=store,
                clock=clock,
            )
            deliverer = Deliverer(store, notifiers, clock, rng=random.Random(1))
            for i in range(len(budget)):
                at = start + TICK_SECONDS * i
                clock.set(at)
                await tick.run(at)
                await deliverer.drain()
    finally:
        store.close()
