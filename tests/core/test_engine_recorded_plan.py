"""A plan read from recorded series writes PromQL only for the windows it still asks directly;
pinned here to the readable derivation from the full direct plan, which it replaced."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

import pytest

from sloguard import rules
from sloguard.engine import SloPlan, plan_slo
from sloguard.engine._recorded import plan_from_rules
from sloguard.model import (
    SLO,
    LatencyIndicator,
    RatioIndicator,
    RawIndicator,
    TimesliceIndicator,
)
from sloguard.periods import Calendar, CalendarUnit

H = TypeVar("H", bound=Hashable)
DAY = 86400


def _same(value: H) -> H:
    return value


def _from_direct_plan(slo: SLO, *, period: bool, direct_max: float) -> SloPlan:
    """The recorded plan as the full direct plan filtered: every window's PromQL written, the
    recorded ones then replaced by their series names."""
    direct = plan_slo(slo)
    ratio: dict[int, str] = {}
    total: dict[int, str] = {}
    recorded: list[int] = []
    for w in direct.ratio:
        if w <= direct_max or (w == slo.period_seconds and not period):
            ratio[w] = direct.ratio[w]
            if w in direct.total:
                total[w] = direct.total[w]
            continue
        recorded.append(w)
        ratio[w] = f"{rules.RATIO}{rules.prom_duration(w)}"
        if w in direct.total and w != slo.period_seconds:
            total[w] = f"{rules.TOTAL}{rules.prom_duration(w)}"
    return SloPlan(
        slo=slo,
        ratio=ratio,
        total=total,
        bucket_check=direct.bucket_check,
        recorded=frozenset(recorded),
        sloth_id="sid",
    )


def _slo(name: str, indicator: object, **extra: object) -> SLO:
    return SLO(
        name=name,
        service="shop",
        objective_percent=99.9,
        period_seconds=extra.pop("period_seconds", 30 * DAY),  # type: ignore[arg-type]
        indicator=indicator,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


RATIO = RatioIndicator(errors='sum(rate(e{c="5"}[{{.window}}]))', total="sum(rate(t[{{.window}}]))")
SLOS = {
    "ratio": _slo("ratio", RATIO),
    "ratio-grouped": _slo("grouped", RATIO, group_by=("region",)),
    "ratio-7d": _slo("week", RATIO, period_seconds=7 * DAY),
    "latency": _slo("latency", LatencyIndicator("h_bucket", 0.3, '{job="api"}')),
    "raw": _slo("raw", RawIndicator("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))")),
    "timeslice": _slo(
        "slices", TimesliceIndicator(60, errors="sum(rate(e[{{.window}}]))", total="t")
    ),
    "calendar": _slo("month", RATIO, calendar=Calendar(CalendarUnit.MONTH)),
}


@pytest.mark.parametrize("direct_max", [0, 300, 3600, 30 * DAY], ids=lambda d: f"direct-{d}s")
@pytest.mark.parametrize("period", [True, False], ids=["period-recorded", "period-direct"])
@pytest.mark.parametrize("slo", SLOS.values(), ids=SLOS.keys())
def test_a_recorded_plan_is_the_direct_plan_with_recorded_windows_replaced(
    slo: SLO, period: bool, direct_max: int
) -> None:
    got = plan_from_rules(slo, "sid", _same, period=period, direct_max=direct_max)
    want = _from_direct_plan(slo, period=period, direct_max=direct_max)
    assert got == want
    assert list(got.ratio) == list(want.ratio), "the windows in the same order"
    assert list(got.total) == list(want.total)
