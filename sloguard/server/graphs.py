"""Burn rate over time for the SLO detail page: Prometheus range queries, cached.

The page's second graph shows the two windows of the SLO's most severe tier over the last
``span_seconds``, each against that tier's threshold. The daemon asks Prometheus (one range
query per window) and keeps the answer for ``ttl_seconds`` in this object, which lives as
long as the UI, so a page reloaded by several people costs Prometheus one pair of queries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sloguard.durations import format_duration
from sloguard.model import SLO, RatioIndicator, render_window
from sloguard.ports import Source


@dataclass(frozen=True, slots=True)
class Line:
    """One window's burn rate over time, and the threshold it is compared with."""

    window: str
    points: tuple[tuple[float, float], ...]  # (unix seconds, burn rate)
    threshold: float


class BurnHistory:
    """Burn-rate lines per SLO, from range queries, cached for ``ttl_seconds``."""

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
        self._cache: dict[str, tuple[float, list[Line]]] = {}

    async def lines(self, slo: SLO) -> list[Line]:
        """The lines of ``slo`` (empty for SLOs not drawn: grouped or not a ratio)."""
        if slo.group_by or not isinstance(slo.indicator, RatioIndicator) or not slo.tiers:
            return []
        now = self._now()
        cached = self._cache.get(slo.name)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        lines = await self._fetch(slo, slo.indicator, now)
        if len(self._cache) >= self._max:
            self._cache.pop(next(iter(self._cache)))  # the oldest entry
        self._cache[slo.name] = (now, lines)
        return lines

    async def _fetch(self, slo: SLO, indicator: RatioIndicator, now: float) -> list[Line]:
        tier = max(slo.tiers, key=lambda t: t.severity)
        threshold = tier.factor(slo.period_seconds)
        step = max(1.0, self._span / self._points)
        lines = []
        for window in (tier.long_seconds, tier.short_seconds):
            text = format_duration(window)
            errors = render_window(indicator.errors, text)
            total = render_window(indicator.total, text)
            series = await self._source.query_range(
                f"({errors}) / ({total})", now - self._span, now, step
            )
            points = tuple(
                (t, v / slo.budget)
                for s in series[:1]
                for t, v in s.points
                if math.isfinite(v) and slo.budget > 0
            )
            lines.append(Line(text, points, threshold))
        return lines


@dataclass(frozen=True, slots=True)
class Plot:
    """A line as SVG polyline points (numbers only) and its threshold's height."""

    window: str
    points: str
    threshold_y: float


def plot(lines: Sequence[Line], *, width: float = 600, height: float = 200) -> list[Plot]:
    """Lines scaled into a width x height box, one shared time and burn-rate scale."""
    times = [t for line in lines for t, _ in line.points]
    if not times:
        return []
    start, end = min(times), max(times)
    top = max([1.0, *(v for line in lines for _, v in line.points)]) * 1.1
    top = max(top, *(line.threshold * 1.1 for line in lines))
    span = max(end - start, 1.0)

    def y(value: float) -> float:
        return height - height * min(value, top) / top

    return [
        Plot(
            line.window,
            " ".join(f"{(t - start) / span * width:.1f},{y(v):.1f}" for t, v in line.points),
            y(line.threshold),
        )
        for line in lines
    ]


__all__ = ["BurnHistory", "Line", "Plot", "plot"]
