"""What ``sloguard report`` reads from Prometheus: per SLO key, the period's error ratio, the
burn onset of each episode, and the series its HTML draws.

A grouped SLO is read the way the daemon evaluates it: its sums grouped by ``group_by``
(``sloguard.engine.group_expr``), one key ``name{label="value"}`` per group, so each group is
a row of the report of its own. A calendar SLO has a row per calendar period the range
touches, each read over its part of the range (``spans``). Everything goes through the
``Source`` port, so one client serves the whole report and a fake serves the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sloguard.burn import StepReading, period_budget_line, usable_ratio
from sloguard.charts import Line, TierLines
from sloguard.durations import format_duration
from sloguard.engine import group_expr, group_key
from sloguard.model import SLO
from sloguard.periods import period_bounds, period_slices, step_ranges
from sloguard.ports import Source, asking_as
from sloguard.records import EpisodeRecord
from sloguard.report import Graphs, SloReview, onset, review

ONSET_LOOKBACK_SECONDS = 6 * 3600
ONSET_STEP_SECONDS = 60
GRAPH_POINTS = 120  # as many as the UI's graphs
GRAPH_STEP_MIN_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Measured:
    """One SLO key's error ratio over ``span``, a row's part of the report (None without
    data)."""

    key: str
    slo: SLO
    ratio: float | None
    span: tuple[float, float]


def spans(slo: SLO, start: float, end: float) -> list[tuple[float, float]]:
    """The parts of ``[start, end]`` the report has a row of ``slo`` for: the whole range, or
    for a calendar SLO its part in each calendar period (the budget is per period)."""
    if slo.calendar is None:
        return [(start, end)]
    return period_slices(slo.calendar, start, end)


def _expr(slo: SLO, window: str) -> str:
    return group_expr(slo.error_ratio_query(window), slo.group_by)


def _key(slo: SLO, labels: Mapping[str, str]) -> str:
    return group_key(slo, tuple(labels.get(label, "") for label in slo.group_by))


async def error_ratios(
    source: Source, slos: Sequence[SLO], start: float, end: float
) -> list[Measured]:
    """Each SLO key's error ratio over each of its ``spans``, read at the span's end. A
    grouped SLO gives one key per group Prometheus knows over the span (its name alone when
    none)."""
    out: list[Measured] = []
    for slo in slos:
        with asking_as(slo.tenant):
            for span in spans(slo, start, end):
                out += await _measure(source, slo, span)
    return out


async def _measure(source: Source, slo: SLO, span: tuple[float, float]) -> list[Measured]:
    window = format_duration(max(1, int(span[1] - span[0])))
    samples = await source.query(_expr(slo, window), span[1])
    if not slo.group_by:
        ratio = usable_ratio(samples[0].value) if len(samples) == 1 else None
        return [Measured(slo.name, slo, ratio, span)]
    groups = {_key(slo, s.labels): usable_ratio(s.value) for s in samples}
    if not groups:
        return [Measured(slo.name, slo, None, span)]
    return [Measured(k, slo, v, span) for k, v in sorted(groups.items())]


async def onsets(source: Source, slo: SLO, episodes: Sequence[EpisodeRecord]) -> dict[str, float]:
    """Each episode's burn onset from the data (report.onset): its key's shortest window's
    error ratio every minute over the hours before its declaration."""
    window = format_duration(min(slo.window_seconds))
    found: dict[str, float] = {}
    for e in episodes:
        series = await source.query_range(
            _expr(slo, window),
            e.declared_at - ONSET_LOOKBACK_SECONDS,
            e.declared_at,
            ONSET_STEP_SECONDS,
        )
        mine = [s for s in series if _key(slo, s.labels) == e.slo]
        began = onset(mine[0].points, slo.budget) if len(mine) == 1 else None
        if began is not None:
            found[e.id] = began
    return found


async def _lines(
    source: Source,
    slo: SLO,
    window: int,
    span: tuple[float, float],
    scale: Callable[[float], float],
) -> dict[str, Line]:
    """One range query of the SLO's error ratio over ``window``, a line per key."""
    start, end = span
    step = max(GRAPH_STEP_MIN_SECONDS, (end - start) / GRAPH_POINTS)
    text = format_duration(window)
    series = await source.query_range(_expr(slo, text), start, end, step)
    return {
        _key(slo, s.labels): Line(
            text, tuple((t, scale(v)) for t, v in s.points if math.isfinite(v))
        )
        for s in series
    }


async def _steps(
    source: Source, slo: SLO, window: int, at: tuple[float, float, float]
) -> dict[str, list[StepReading]]:
    """Per key, the error ratio and event rate over ``window`` at each point of ``at`` (first,
    last, step; an instant query when first == last)."""
    text = format_duration(window)
    total = slo.total_query(text)
    exprs = [_expr(slo, text), *([] if total is None else [group_expr(total, slo.group_by)])]
    read: list[dict[str, dict[float, float]]] = []
    for expr in exprs:
        got: list[tuple[Mapping[str, str], Sequence[tuple[float, float]]]]
        if at[0] == at[1]:
            got = [(s.labels, [(at[0], s.value)]) for s in await source.query(expr, at[0])]
        else:
            got = [(s.labels, s.points) for s in await source.query_range(expr, *at)]
        read.append({_key(slo, labels): dict(points) for labels, points in got})
    ratios, rates = read[0], (read[1] if total is not None else None)
    return {
        key: [
            StepReading(
                t, window, v, None if rates is None else rates.get(key, {}).get(t, math.nan)
            )
            for t, v in points.items()
        ]
        for key, points in ratios.items()
    }


async def _period_budget(source: Source, slo: SLO, span: tuple[float, float]) -> dict[str, Line]:
    """A calendar SLO's budget left over ``span`` (within one period), per key, summed step by
    step from the period's start as the UI draws it (``burn.period_budget_line``)."""
    assert slo.calendar is not None
    since, _ = period_bounds(slo.calendar, span[0])
    step = max(min(slo.window_seconds), math.ceil((span[1] - since) / GRAPH_POINTS))
    steps: dict[str, list[StepReading]] = {}
    last = since
    for r in step_ranges(slo.calendar, since, span[1], step):
        for key, got in (await _steps(source, slo, step, (r.first, r.last, step))).items():
            steps.setdefault(key, []).extend(got)
        last = r.last
    if (tail := int(span[1] - last)) >= 1:
        for key, got in (await _steps(source, slo, tail, (span[1], span[1], 0))).items():
            steps.setdefault(key, []).extend(got)
    return {
        key: Line(
            slo.period, tuple(p for p in period_budget_line(slo, since, got) if p[0] >= span[0])
        )
        for key, got in steps.items()
    }


async def graphs(
    source: Source, slo: SLO, keys: Sequence[str], start: float, end: float
) -> dict[str, Graphs]:
    """Per key of ``slo``, what the UI's SLO page draws, over ``[start, end]``: the budget left
    over the SLO period at each instant (a calendar SLO's since its period's start), and each
    tier's windows as burn rates (most severe tier first). Nothing for an SLO without a budget
    or tiers."""
    if slo.budget <= 0 or not slo.tiers:
        return {}
    budget = slo.budget
    span = (start, end)
    if slo.calendar is not None:
        left = await _period_budget(source, slo, span)
    else:
        left = await _lines(source, slo, slo.period_seconds, span, lambda v: 1.0 - v / budget)
    burns = {
        w: await _lines(source, slo, w, span, lambda v: v / budget) for w in slo.window_seconds
    }
    out: dict[str, Graphs] = {}
    tiers = sorted(slo.tiers, key=lambda t: t.severity, reverse=True)
    for key in keys:
        empty = Line(slo.period if slo.calendar else format_duration(slo.period_seconds), ())
        out[key] = Graphs(
            left.get(key, empty),
            tuple(
                TierLines(
                    t.severity.name,
                    burns[t.long_seconds].get(key, Line(format_duration(t.long_seconds), ())),
                    burns[t.short_seconds].get(key, Line(format_duration(t.short_seconds), ())),
                    t.factor(slo.period_seconds),
                )
                for t in tiers
            ),
        )
    return out


async def reviews(
    source: Source,
    slos: Sequence[SLO],
    recorded: Sequence[EpisodeRecord],
    start: float,
    end: float,
    *,
    drawn: bool,
) -> list[SloReview]:
    """One review per SLO key (per group of a grouped SLO) over ``[start, end]``, with the
    episodes of ``recorded`` declared in it; ``drawn`` also reads what the HTML draws."""
    out = []
    measured = await error_ratios(source, slos, start, end)
    for slo in slos:
        for a, b in spans(slo, start, end):
            mine = [
                e for e in recorded if e.slo.split("{", 1)[0] == slo.name and a <= e.declared_at < b
            ]
            ratios = {m.key: m.ratio for m in measured if m.slo is slo and m.span == (a, b)}
            # A group with episodes but no series at the end still gets its row.
            ratios.update({e.slo: None for e in mine if e.slo not in ratios})
            if slo.group_by and len(ratios) > 1:
                ratios.pop(slo.name, None)  # the placeholder of a grouped SLO without series
            with asking_as(slo.tenant):  # the tenant its evaluations are asked in
                began = await onsets(source, slo, mine)
                drawings = await graphs(source, slo, list(ratios), a, b) if drawn else {}
            for key, ratio in ratios.items():
                episodes = [e for e in mine if e.slo == key]
                out.append(review(key, slo, ratio, episodes, a, b, began, drawings.get(key)))
    return out


__all__ = ["Measured", "error_ratios", "graphs", "onsets", "reviews", "spans"]
