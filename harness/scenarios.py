"""The standard scenarios of the test suite, the demo and the benchmarks.

Offsets are seconds from the scenario's start (``Scenario.at(offset)`` gives unix time).
Baselines burn at 0.5x the budget of a 99.9 % SLO (0.05 % errors).
"""

from __future__ import annotations

from harness.promserver import (
    DAY,
    HOUR,
    Latency,
    Scenario,
    Service,
    burn,
    outage,
    slowdown,
    traffic_drop,
)

MINUTE = 60

# incidents(): what happens when, in offsets from the start
OUTAGE_START = 6 * HOUR  # checkout: 100 % errors for 20 min
OUTAGE_END = OUTAGE_START + 20 * MINUTE
BURN10_START = 30 * MINUTE  # search: 10x the budget for 7 h
BURN10_END = BURN10_START + 7 * HOUR
IDLE_START = 3 * HOUR  # idle: no traffic at all from here to the end
SLOW_START = 2 * HOUR  # catalog: 20 % of requests slower than 250 ms for 1 h
SLOW_END = SLOW_START + HOUR

# slow_burn(): ledger burns at 2x for 2 days, starting after 2 days of baseline
BURN2_START = 2 * DAY
BURN2_END = BURN2_START + 2 * DAY


def incidents() -> Scenario:
    """13 h at a 15 s step, four services, one incident each (about 0.3 s to serve)."""
    return Scenario(
        services=(
            Service("checkout", events=(outage(OUTAGE_START, 20 * MINUTE),)),
            Service("search", events=(burn(BURN10_START, 7 * HOUR, factor=10.0),)),
            Service("idle", events=(traffic_drop(IDLE_START, 13 * HOUR - IDLE_START),)),
            Service(
                "catalog",
                latency=Latency(threshold_seconds=0.25, slow_ratio=0.001),
                events=(slowdown(SLOW_START, HOUR, slow_ratio=0.2),),
            ),
        ),
        duration_seconds=13 * HOUR,
        step_seconds=15,
    )


def slow_burn() -> Scenario:
    """4 d 6 h at a 60 s step: a 2x burn for 2 days, then recovery (about 3 s to serve)."""
    return Scenario(
        services=(Service("ledger", events=(burn(BURN2_START, 2 * DAY, factor=2.0),)),),
        duration_seconds=4 * DAY + 6 * HOUR,
        step_seconds=60,
    )
