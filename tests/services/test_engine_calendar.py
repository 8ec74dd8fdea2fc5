"""The engine and a calendar SLO whose rules run in Prometheus: the tiers' windows come from
the recorded series, the period always from a direct query over the elapsed part of the
current period (no recording rule knows where the period starts)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from sloguard import rules
from sloguard.engine import Engine, bulk_query
from sloguard.model import SLO
from sloguard.periods import Calendar, CalendarUnit
from sloguard.ports import Sample
from tests.support.sources import DAY, RATIOS, RulesLoaded, ratio_slo

AT = 1704067200.0 + 9 * DAY + 3600  # 10 Jan 2024 01:00 UTC: 9 days and an hour into January
ELAPSED = 9 * DAY + 3600


def _calendar_slo() -> SLO:
    return replace(ratio_slo("checkout-monthly"), calendar=Calendar(CalendarUnit.MONTH))


@pytest.mark.parametrize("recorded", [True, False], ids=["rules-loaded", "direct"])
def test_the_period_is_asked_over_the_elapsed_month(recorded: bool) -> None:
    slo = _calendar_slo()
    source = RulesLoaded([slo])
    (sp,) = Engine().plan([slo], AT).slos
    elapsed_ratio, elapsed_total = sp.ratio[slo.period_seconds], sp.total[slo.period_seconds]
    assert f"[{ELAPSED}s]" in elapsed_ratio
    source.answers[elapsed_ratio] = [Sample({}, 0.0005)]
    source.answers[elapsed_total] = [Sample({}, 100.0)]

    [ev] = asyncio.run(Engine().evaluate_all([slo], source, AT, recorded=recorded))

    assert ev.error == ""
    assert elapsed_ratio in source.direct()
    assert bulk_query(rules.ratio_series(30 * DAY)) not in {q for q, _ in source.asked}
    # half the budget ratio over 9 days 1 hour of January's 31 days
    assert ev.error_budget_remaining == pytest.approx(1 - 0.5 * ELAPSED / (31 * DAY))
    assert ev.burn_rates[300] == pytest.approx(RATIOS[300] / 0.001)
    if recorded:
        assert 300 in source.recorded_windows()
