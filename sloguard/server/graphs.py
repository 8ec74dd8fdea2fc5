"""The SLO detail page's graphs over time: Prometheus range queries, cached.

Two kinds of graph: the error budget left over the SLO's period, and, for every tier, the burn
rate of its long and short windows over the last ``span_seconds`` against the tier's threshold.
The daemon asks Prometheus (one range query per distinct window, one for the budget, and one
instant probe for recorded series) and keeps the answer for ``ttl_seconds`` in this object,
which lives as long as the UI, so a page reloaded by several people costs Prometheus one set
of queries. When the SLO's ``sloguard generate`` rules run in Prometheus with the same meaning
(``sloth_slo_info`` carries the SLO's hash), the graphs read the recorded ratios instead of
the raw indicator.

A calendar SLO's budget graph starts at its period's start, where its budget resets: a range
query cannot follow the period start, so it reads the error ratio (and the event rate) over
each step since the period's start and sums them (``burn.period_budget_line``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from sloguard import rules
from sloguard.burn import StepReading, period_budget_line
from sloguard.charts import Line, TierLines
from sloguard.durations import format_duration
from sloguard.model import SLO
from sloguard.periods import StepRange, period_bounds, step_ranges
from sloguard.ports import Source


@dataclass(frozen=True, slots=True)
class History:
    """Everything the detail page draws over time for one SLO."""

    budget: Line  # budget left over the period: 1 is untouched, 0 spent, below 0 overspent
    tiers: tuple[TierLines, ...]
    recorded: bool  # read from the recorded series of ``sloguard generate`` rules
    until: float = 0.0  # the graphs' right edge (when they were asked)
    budget_from: float = 0.0  # the budget graph's left edge: one period before ``until``, or
    # a calendar SLO's period start
    burn_from: float = 0.0  # the burn graphs' left edge


class BurnHistory:
    """The graphs' data per SLO, from range queries, cached for ``ttl_seconds``."""

    def __init__(
        self,
        source: Source,
        now: Callable[[], float],
        *,
        span_seconds: float = 6 * 3600,
        points: int = 120,
        ttl_seconds: float = 60.0,
        max_entries: int = 1000,
    ) -> None:
        self._source = source
        self._now = now
        self._span = span_seconds
        self._points = points
        self._ttl = ttl_seconds
        self._max = max_entries
        self._cache: dict[str, tuple[float, History]] = {}

    @property
    def span_seconds(self) -> float:
        """How far back the burn-rate graphs go."""
        return self._span

    async def history(self, slo: SLO) -> History | None:
        """The graphs of ``slo`` (None for SLOs not drawn: grouped, or without tiers)."""
        if slo.group_by or not slo.tiers or slo.budget <= 0:
            return None
        now = self._now()
        cached = self._cache.get(slo.name)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        history = await self._fetch(slo, now)
        if len(self._cache) >= self._max:
            self._cache.pop(next(iter(self._cache)))  # the oldest entry
        self._cache[slo.name] = (now, history)
        return history

    async def _recorded(self, slo: SLO, now: float) -> bool:
        """Do the SLO's recording rules run in Prometheus, meaning what the spec means now?"""
        sid = rules.sloth_id(slo)
        probe = f'group by ({rules.HASH_LABEL}) ({rules.INFO}{{sloth_id="{sid}"}})'
        got = await self._source.query(probe, now)
        return any(s.labels.get(rules.HASH_LABEL) == rules.sli_hash(slo) for s in got)

    def _ratio(self, slo: SLO, seconds: int, recorded: bool) -> str:
        if recorded:
            return f'{rules.ratio_series(seconds)}{{sloth_id="{rules.sloth_id(slo)}"}}'
        return slo.error_ratio_query(format_duration(seconds))

    async def _series(
        self, expr: str, start: float, end: float, scale: Callable[[float], float]
    ) -> Line:
        step = max(1.0, (end - start) / self._points)
        series = await self._source.query_range(expr, start, end, step)
        points = tuple((t, scale(v)) for s in series[:1] for t, v in s.points if math.isfinite(v))
        return Line("", points)

    async def _fetch(self, slo: SLO, now: float) -> History:
        recorded = await self._recorded(slo, now)
        windows = sorted({w for t in slo.tiers for w in (t.long_seconds, t.short_seconds)})
        budget = slo.budget

        async def burn(seconds: int) -> Line:
            line = await self._series(
                self._ratio(slo, seconds, recorded), now - self._span, now, lambda v: v / budget
            )
            return Line(format_duration(seconds), line.points)

        async def left() -> Line:
            if slo.calendar is not None:
                return await self._period_budget(slo, now)
            ratio = self._ratio(slo, slo.period_seconds, recorded)
            line = await self._series(
                ratio, now - slo.period_seconds, now, lambda v: 1.0 - v / budget
            )
            return Line(format_duration(slo.period_seconds), line.points)

        # Every query runs to its end, so none is left behind with an unretrieved error.
        got = await asyncio.gather(left(), *(burn(w) for w in windows), return_exceptions=True)
        for outcome in got:
            if isinstance(outcome, BaseException):
                raise outcome
        budget_line, *burns = (line for line in got if isinstance(line, Line))
        by_window = dict(zip(windows, burns, strict=True))
        tiers = tuple(
            TierLines(
                t.severity.name,
                by_window[t.long_seconds],
                by_window[t.short_seconds],
                t.factor(slo.period_seconds),
            )
            for t in sorted(slo.tiers, key=lambda t: t.severity, reverse=True)
        )
        since = now - slo.period_seconds
        if slo.calendar is not None:
            since, _ = period_bounds(slo.calendar, now)
        return History(budget_line, tiers, recorded, now, since, now - self._span)

    async def _period_budget(self, slo: SLO, now: float) -> Line:
        """A calendar SLO's budget left from its period's start to ``now``: the error ratio and
        event rate over each step since the start (two range queries), and over the rest of
        the last step up to ``now`` (two instant queries), summed (``burn.period_budget_line``)."""
        assert slo.calendar is not None
        since, _ = period_bounds(slo.calendar, now)
        # Each step at least the SLO's shortest window, which its scrape interval fills
        step = max(min(slo.window_seconds), math.ceil((now - since) / self._points))
        steps: list[StepReading] = []
        last = since
        for r in step_ranges(slo.calendar, since, now, step):
            ratios = await self._first(slo.error_ratio_query(format_duration(step)), r, step)
            total = slo.total_query(format_duration(step))
            rates = dict(await self._first(total, r, step)) if total is not None else None
            steps += [
                StepReading(t, step, v, None if rates is None else rates.get(t, math.nan))
                for t, v in ratios
            ]
            last = r.last
        if (tail := int(now - last)) >= 1:
            steps.append(await self._tail(slo, now, tail))
        return Line(slo.period, period_budget_line(slo, since, steps))

    async def _first(self, expr: str, r: StepRange, step: int) -> list[tuple[float, float]]:
        series = await self._source.query_range(expr, r.first, r.last, step)
        return [p for s in series[:1] for p in s.points]

    async def _tail(self, slo: SLO, now: float, seconds: int) -> StepReading:
        """The step from the last range point to ``now``."""
        window = format_duration(seconds)
        ratio = await self._source.query(slo.error_ratio_query(window), now)
        total = slo.total_query(window)
        rate = None if total is None else await self._source.query(total, now)
        return StepReading(
            now,
            seconds,
            ratio[0].value if ratio else math.nan,
            None if rate is None else (rate[0].value if rate else math.nan),
        )


__all__ = ["BurnHistory", "History"]
