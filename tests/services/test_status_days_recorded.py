"""The status page's daily bars read the recorded series when the SLO's generated rules run
(the 1-day ratio, else the day summed from the base window), else the raw indicator; a grouped
SLO's day is its worst group's."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sloguard import rules
from sloguard.model import SLO, Severity, Tier
from sloguard.ports import Sample, Series
from sloguard.server.daily import DAY_SECONDS, DailyRatios, day_start
from tests.support.ui import slo

NOW = 1.7e9 + 3600
TODAY = day_start(NOW)
YESTERDAY = TODAY - DAY_SECONDS
NO_1D = (Tier(Severity.SEV1, 3600, 300, 2.0), Tier(Severity.SEV2, 6 * 3600, 1800, 5.0))


class RecordedSource:
    """The probe finds ``info_hash`` (none when empty); every range query answers, for
    yesterday, one series per group in ``ratios`` (its labels -> yesterday's error ratio)."""

    def __init__(self, info_hash: str, ratios: dict[str, float]) -> None:
        self.info_hash = info_hash
        self.ratios = ratios
        self.asked: list[str] = []

    async def query(self, expr: str, at: float) -> list[Sample]:
        assert rules.INFO in expr
        return [Sample({rules.HASH_LABEL: self.info_hash}, 1.0)] if self.info_hash else []

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        self.asked.append(expr)
        return [Series({"route": g}, [(TODAY, r)]) for g, r in self.ratios.items()]


def _verdicts(source: RecordedSource, the_slo: SLO) -> dict[float, bool]:
    got = asyncio.run(DailyRatios(source).verdicts([the_slo], NOW))
    return dict(got[the_slo.name].missed)


@pytest.mark.parametrize(
    ("the_slo", "rules_run", "query"),
    [
        pytest.param(slo("checkout"), False, "(e1d)\n/\n(t1d)", id="no-rules-raw-indicator"),
        pytest.param(
            slo("checkout"),
            True,
            'slo:sli_error:ratio_rate1d{sloth_id="shop-checkout"}',
            id="rules-record-1d",
        ),
        pytest.param(
            dataclasses.replace(slo("checkout"), tiers=NO_1D),
            True,
            rules.summed_ratio(dataclasses.replace(slo("checkout"), tiers=NO_1D), DAY_SECONDS),
            id="no-1d-tier-summed-from-5m",
        ),
    ],
)
def test_the_day_is_read_from_the_recorded_series_when_the_rules_run(
    the_slo: SLO, rules_run: bool, query: str
) -> None:
    source = RecordedSource(rules.sli_hash(the_slo) if rules_run else "", {"": 0.01})
    assert _verdicts(source, the_slo) == {YESTERDAY: True}
    assert source.asked == [query]


def test_rules_of_another_meaning_are_not_read() -> None:
    source = RecordedSource("0123456789abcdef", {"": 0.0})
    _verdicts(source, slo("checkout"))
    assert source.asked == ["(e1d)\n/\n(t1d)"]


def test_the_summed_day_sums_the_base_window_events() -> None:
    query = rules.summed_ratio(dataclasses.replace(slo("checkout"), tiers=NO_1D), DAY_SECONDS)
    assert "sum_over_time(slo:sli_errors:rate5m{" in query
    assert "[1d])" in query


@pytest.mark.parametrize(
    ("ratios", "missed"),
    [
        pytest.param({"a": 0.0, "b": 0.01}, True, id="one-group-over-budget-misses-the-day"),
        pytest.param({"a": 0.0, "b": 0.0005}, False, id="every-group-within-budget"),
    ],
)
def test_a_grouped_slo_day_is_its_worst_group(ratios: dict[str, float], missed: bool) -> None:
    grouped = dataclasses.replace(slo("checkout"), group_by=("route",))
    source = RecordedSource(rules.sli_hash(grouped), ratios)
    assert _verdicts(source, grouped) == {YESTERDAY: missed}
    assert source.asked == ['slo:sli_error:ratio_rate1d{sloth_id="shop-checkout"}']
