"""The SLO detail page's graphs over time: Prometheus range queries, cached.

Two kinds of graph: the error budget left over the SLO's period, and, for every tier, the burn
rate of its long and short windows over the last ``span_seconds`` against the tier's threshold.
The daemon asks Prometheus (one range query per distinct window, one for the budget, and one
instant probe for recorded series) and keeps the answer for ``ttl_seconds`` in this object,
which lives as long as the UI, so a page reloaded by several people costs Prometheus one set
of queries. A grouped SLO (``group_by``) costs the same set: each query answers every group
(one series per group), split here by the group's labels, and the whole answer is cached per
SLO, so the view of each of its groups after the first is free. When the SLO's ``sloguard
generate`` rules run in Prometheus with the same meaning (``sloth_slo_info`` carries the SLO's
hash), the graphs read the recorded ratios instead of the raw indicator.

A calendar SLO's budget graph starts at its period's start, where its budget resets: a range
query cannot follow the period start, so it reads the error ratio (and the event rate) over
each step since the period's start and sums them (``burn.period_budget_line``), each group's
from the same queries.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sloguard import rules
from sloguard.burn import StepReading, period_budget_line
from sloguard.charts import Line, TierLines
from sloguard.durations import format_duration
from sloguard.model import SLO
from sloguard.periods import StepRange, period_bounds, step_ranges
from sloguard.ports import Series, Source, asking_as

Group = tuple[str, ...]  # a group's label values in ``group_by`` order; () when ungrouped
Lines = Mapping[Group, Line]  # one range query's line per group


@dataclass(frozen=True, slots=True)
class History:
    """Everything the detail page draws over time for one SLO (or one group of it)."""

    budget: Line  # budget left over the period: 1 is untouched, 0 spent, below 0 overspent
    tiers: tuple[TierLines, ...]
    recorded: bool  # read from the recorded series of ``sloguard generate`` rules
    until: float = 0.0  # the graphs' right edge (when they were asked)
    budget_from: float = 0.0  # the budget graph's left edge: one period before ``until``
    burn_from: float = 0.0  # the burn graphs' left edge


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One SLO's answers, every group at once."""

    budget: Lines
    burns: Mapping[int, Lines]  # by window seconds
    recorded: bool
    until: float
    burn_from: float


async def rules_run(source: Source, slo: SLO, at: float) -> bool:
    """Do the SLO's recording rules run in Prometheus, meaning what the spec means now?"""
    sid = rules.sloth_id(slo)
    probe = f'group by ({rules.HASH_LABEL}) ({rules.INFO}{{sloth_id="{sid}"}})'
    got = await source.query(probe, at)
    return any(s.labels.get(rules.HASH_LABEL) == rules.sli_hash(slo) for s in got)


def recorded_ratio(slo: SLO, seconds: int) -> str:
    """The recorded error ratio of ``slo`` over ``seconds``: every group's series."""
    return f'{rules.ratio_series(seconds)}{{sloth_id="{rules.sloth_id(slo)}"}}'


def group_of(slo: SLO, labels: Mapping[str, str]) -> Group:
    """The group a series (or an evaluation's labels) belongs to."""
    return tuple(labels.get(label, "") for label in slo.group_by)


def split(
    slo: SLO, series: Sequence[Series], window: str, scale: Callable[[float], float]
) -> Lines:
    """One line per group (the first series alone for an ungrouped SLO), values scaled."""
    out: dict[Group, Line] = {}
    for s in series if slo.group_by else series[:1]:
        points = tuple((t, scale(v)) for t, v in s.points if math.isfinite(v))
        out.setdefault(group_of(slo, s.labels), Line(window, points))
    return out


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
        self._cache: dict[str, _Fetched] = {}

    @property
    def span_seconds(self) -> float:
        """How far back the burn-rate graphs go."""
        return self._span

    async def history(self, slo: SLO, group: Mapping[str, str] | None = None) -> History | None:
        """The graphs of ``slo``, of its group with the labels ``group`` if grouped (None for
        SLOs not drawn: without tiers or budget). A group Prometheus has no series for gets
        empty lines."""
        if not slo.tiers or slo.budget <= 0:
            return None
        now = self._now()
        fetched = self._cache.get(slo.name)
        if fetched is None or now - fetched.until >= self._ttl:
            with asking_as(slo.tenant):  # its evaluations' tenant; gather's tasks keep it
                fetched = await self._fetch(slo, now)
            self._cache.pop(slo.name, None)
            if len(self._cache) >= self._max:
                self._cache.pop(next(iter(self._cache)))  # the oldest entry
            self._cache[slo.name] = fetched
        return _history(slo, fetched, group_of(slo, group or {}))

    def _ratio(self, slo: SLO, seconds: int, recorded: bool) -> str:
        if recorded:
            return recorded_ratio(slo, seconds)
        return slo.error_ratio_query(format_duration(seconds))

    async def _lines(
        self, slo: SLO, seconds: int, recorded: bool, start: float, end: float, budget: bool
    ) -> Lines:
        step = max(1.0, (end - start) / self._points)
        expr = self._ratio(slo, seconds, recorded)
        series = await self._source.query_range(expr, start, end, step)
        b = slo.budget
        scale: Callable[[float], float] = (lambda v: 1.0 - v / b) if budget else (lambda v: v / b)
        return split(slo, series, format_duration(seconds), scale)

    async def _fetch(self, slo: SLO, now: float) -> _Fetched:
        recorded = await rules_run(self._source, slo, now)
        windows = sorted({w for t in slo.tiers for w in (t.long_seconds, t.short_seconds)})
        period = slo.period_seconds
        left = (
            self._period_budget(slo, now)
            if slo.calendar is not None
            else self._lines(slo, period, recorded, now - period, now, True)
        )
        # Every query runs to its end, so none is left behind with an unretrieved error.
        got = await asyncio.gather(
            left,
            *(self._lines(slo, w, recorded, now - self._span, now, False) for w in windows),
            return_exceptions=True,
        )
        for outcome in got:
            if isinstance(outcome, BaseException):
                raise outcome
        budget, *burns = (lines for lines in got if not isinstance(lines, BaseException))
        return _Fetched(
            budget, dict(zip(windows, burns, strict=True)), recorded, now, now - self._span
        )

    async def _period_budget(self, slo: SLO, now: float) -> Lines:
        """A calendar SLO's budget left from its period's start to ``now``, per group: the
        error ratio and event rate over each step since the start (two range queries), and
        over the rest of the last step up to ``now`` (two instant queries), summed
        (``burn.period_budget_line``)."""
        assert slo.calendar is not None
        since, _ = period_bounds(slo.calendar, now)
        # Each step at least the SLO's shortest window, which its scrape interval fills
        step = max(min(slo.window_seconds), math.ceil((now - since) / self._points))
        steps: dict[Group, list[StepReading]] = {}
        last = since
        for r in step_ranges(slo.calendar, since, now, step):
            ratios = await self._points_of(slo, slo.error_ratio_query(format_duration(step)), r)
            total = slo.total_query(format_duration(step))
            rates = await self._points_of(slo, total, r) if total is not None else None
            for group, points in ratios.items():
                of_group = None if rates is None else dict(rates.get(group, ()))
                steps.setdefault(group, []).extend(
                    StepReading(t, step, v, None if of_group is None else of_group.get(t, math.nan))
                    for t, v in points
                )
            last = r.last
        if (tail := int(now - last)) >= 1:
            for group, reading in (await self._tail(slo, now, tail)).items():
                steps.setdefault(group, []).append(reading)
        return {
            group: Line(slo.period, period_budget_line(slo, since, readings))
            for group, readings in steps.items()
        }

    async def _points_of(
        self, slo: SLO, expr: str, r: StepRange
    ) -> dict[Group, list[tuple[float, float]]]:
        """Each group's points of a range query over ``r`` (the first series when ungrouped)."""
        series = await self._source.query_range(expr, r.first, r.last, r.step_seconds)
        return {
            group_of(slo, s.labels): list(s.points)
            for s in (series if slo.group_by else series[:1])
        }

    async def _tail(self, slo: SLO, now: float, seconds: int) -> dict[Group, StepReading]:
        """Each group's step from the last range point to ``now``."""
        window = format_duration(seconds)
        ratios = await self._source.query(slo.error_ratio_query(window), now)
        total = slo.total_query(window)
        rates = None if total is None else await self._source.query(total, now)
        rate_of = {group_of(slo, s.labels): s.value for s in (rates or [])}
        # An ungrouped SLO without an answer still gets its step (no data: NaN).
        ratio_of: dict[Group, float] = {} if slo.group_by else {(): math.nan}
        ratio_of.update(
            {group_of(slo, s.labels): s.value for s in (ratios if slo.group_by else ratios[:1])}
        )
        return {
            group: StepReading(
                now, seconds, ratio, None if rates is None else rate_of.get(group, math.nan)
            )
            for group, ratio in ratio_of.items()
        }


def _history(slo: SLO, f: _Fetched, group: Group) -> History:
    """One group's graphs out of the SLO's answers."""

    def line(lines: Lines, seconds: int) -> Line:
        return lines.get(group) or Line(format_duration(seconds), ())

    tiers = tuple(
        TierLines(
            t.severity.name,
            line(f.burns[t.long_seconds], t.long_seconds),
            line(f.burns[t.short_seconds], t.short_seconds),
            t.factor(slo.period_seconds),
        )
        for t in sorted(slo.tiers, key=lambda t: t.severity, reverse=True)
    )
    budget = line(f.budget, slo.period_seconds)
    since = f.until - slo.period_seconds
    if slo.calendar is not None:
        since, _ = period_bounds(slo.calendar, f.until)
    return History(budget, tiers, f.recorded, f.until, since, f.burn_from)


__all__ = ["BurnHistory", "Group", "History", "group_of", "recorded_ratio", "rules_run", "split"]
