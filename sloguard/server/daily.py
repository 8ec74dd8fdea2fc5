"""Each SLO's error ratio day by day, for the status page's daily bars: one range query per
SLO (and one instant probe for its recorded series), cached for the day.

A day's verdict is whether the SLO's error ratio over that UTC day stayed within its budget
(``1 - objective``). The query asks the 1-day error ratio at the end of each of the last
complete days (a range query with a 1-day step, aligned on midnight UTC), so its answer
does not change until the next midnight and is kept until then. Today is not complete and
gets no verdict: its bar comes from the episodes alone.

When the SLO's ``sloguard generate`` rules run in Prometheus with the same meaning (the
``sloth_slo_info`` hash check the detail page's graphs make), the days are read from the
recorded series, which cost Prometheus far less than the raw indicator over a day:
``slo:sli_error:ratio_rate1d`` when a tier records the 1-day window, else the day summed from
the base window's recorded rates. A grouped SLO's day is its worst group's: a component is
down when any of its groups is.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sloguard import rules
from sloguard.errors import SloguardError
from sloguard.model import SLO
from sloguard.ports import Source, asking_as
from sloguard.server.graphs import recorded_ratio, rules_run

DAY_SECONDS = 86400
CONCURRENCY = 8  # range queries in flight at once: a page of many SLOs spares Prometheus


def day_start(at: float) -> float:
    """Midnight UTC of the day ``at`` falls in."""
    return at - at % DAY_SECONDS


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One SLO's days: day start (unix seconds, midnight UTC) -> did it miss its objective?
    Days Prometheus has no data for are absent."""

    missed: Mapping[float, bool] = field(default_factory=dict)


class DailyRatios:
    """The daily verdicts of each SLO, from Prometheus, cached until the next midnight UTC."""

    def __init__(self, source: Source, *, days: int = 90) -> None:
        self._source = source
        self._days = days
        self._today = -1.0
        self._cache: dict[str, Verdicts] = {}

    async def verdicts(self, slos: Iterable[SLO], now: float) -> dict[str, Verdicts]:
        """Every SLO's verdicts by SLO name; an SLO whose query failed is left out (its bars
        then come from the episodes alone) and asked again on the next view."""
        today = day_start(now)
        if today != self._today:
            self._today, self._cache = today, {}
        wanted = {slo.name: slo for slo in slos}
        missing = [slo for name, slo in wanted.items() if name not in self._cache]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(slo: SLO) -> None:
            # Prometheus unreachable: no verdict and nothing cached, so the next view asks.
            async with gate:
                with contextlib.suppress(SloguardError), asking_as(slo.tenant):
                    self._cache[slo.name] = await self._fetch(slo, today)

        await asyncio.gather(*(one(slo) for slo in missing))
        return {name: self._cache[name] for name in wanted if name in self._cache}

    async def _fetch(self, slo: SLO, today: float) -> Verdicts:
        """The 1-day error ratio at each midnight, i.e. of each day that ended there; the
        worst group of a grouped SLO."""
        # The page's oldest day starts days - 1 days before today, so it ends days - 2 before.
        first_end = today - max(0, self._days - 2) * DAY_SECONDS
        expr = await self._day_ratio(slo, today)
        series = await self._source.query_range(expr, first_end, today, DAY_SECONDS)
        worst: dict[float, float] = {}
        for s in series:
            for at, value in s.points:
                if math.isfinite(value):
                    worst[at] = max(value, worst.get(at, value))
        return Verdicts({at - DAY_SECONDS: ratio > slo.budget for at, ratio in worst.items()})

    async def _day_ratio(self, slo: SLO, at: float) -> str:
        """PromQL for the 1-day error ratio of ``slo``: recorded when its rules run."""
        if not await rules_run(self._source, slo, at):
            return slo.error_ratio_query("1d")
        if DAY_SECONDS in rules.recorded_windows(slo):
            return recorded_ratio(slo, DAY_SECONDS)
        return rules.summed_ratio(slo, DAY_SECONDS)


__all__ = ["DAY_SECONDS", "DailyRatios", "Verdicts", "day_start"]
