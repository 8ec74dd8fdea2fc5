"""The recorded-rules probe asks "now" and "one period ago" at the same time: one round trip
before the recorded series are read, not two (what ``sloguard evaluate`` waits for)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Set
from dataclasses import replace

import pytest

from sloguard import rules
from sloguard.engine import PROBE, Engine, Recorded
from sloguard.model import SLO
from sloguard.ports import BySlothId, Sample, Series
from tests.support.sources import DAY, ratio_slo, rules_info_answers

AT = 1_700_000_000.0
WEEK_AGO = f"group by (sloth_id, {rules.HASH_LABEL}) ({rules.INFO} offset 1w)"
MONTH_AGO = f"group by (sloth_id, {rules.HASH_LABEL}) ({rules.INFO} offset 30d)"


class AnswersWhenAllAsked:
    """Holds every answer until ``expected`` queries are in flight at once: a probe that waits
    for one answer before asking the next never gets one (the test times out)."""

    def __init__(self, answers: Mapping[str, list[Sample]], expected: int) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self._all_in = asyncio.Event()
        self._expected = expected

    async def query(self, expr: str, at: float) -> list[Sample]:
        self.asked.append(expr)
        if len(self.asked) >= self._expected:
            self._all_in.set()
        await self._all_in.wait()
        return list(self.answers.get(expr, []))

    async def query_by_sloth_id(
        self, expr: str, at: float, sids: Mapping[str, str], grouped: Set[str]
    ) -> BySlothId:
        raise AssertionError("the probe only")

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise AssertionError("instant queries only")


MONTH, WEEK = ratio_slo("month"), replace(ratio_slo("week", "cart"), period_seconds=7 * DAY)
CASES = [
    pytest.param([MONTH], [PROBE, MONTH_AGO], {"month"}, id="one-period"),
    pytest.param([MONTH, WEEK], [PROBE, WEEK_AGO, MONTH_AGO], {"month", "week"}, id="two-periods"),
]


@pytest.mark.parametrize(("slos", "asked", "periods"), CASES)
def test_the_period_probes_go_out_with_the_first(
    slos: list[SLO], asked: list[str], periods: set[str]
) -> None:
    info = rules_info_answers(slos)[PROBE]
    assert isinstance(info, list)
    source = AnswersWhenAllAsked({q: info for q in asked}, expected=len(asked))

    async def probe() -> Recorded:
        return await asyncio.wait_for(
            Engine().probe_recorded(slos, source, AT),
            timeout=5,
        )

    found = asyncio.run(probe())
    assert source.asked == asked, "the first probe first, then each period's, shortest first"
    assert found == Recorded(frozenset(periods), frozenset(periods))
