"""A calendar SLO's error budget in the backtest, step by step from each period's start.

Range queries cannot follow a period start, so the replay's plan leaves a calendar SLO's
period query out (``engine.without_calendar_period``). Its budget is read here instead, on a
grid of the range's steps: per period the range touches, the error ratio (and event rate)
over the part of the period before its first grid point (an instant query), then over each
grid step (a range query with the step as its window), summed as the UI sums them
(``burn.period_budget_line``). At a grid point the budget is the elapsed period's, as the
daemon reads it (within the extrapolation of ``rate()`` at the steps' edges); between grid
points the last one holds, as a rolling SLO's budget does on the coarser budget grid.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sloguard.backtest._model import Options
from sloguard.burn import StepReading, period_budget_line
from sloguard.durations import format_duration
from sloguard.engine import group_expr, group_key
from sloguard.errors import SloguardError
from sloguard.model import SLO
from sloguard.periods import period_bounds, period_slices
from sloguard.ports import Source


@dataclass(slots=True)
class Grid:
    """Budgets left at ``start + i * step_seconds``, per SLO key (NaN: unknown)."""

    start: float
    step_seconds: int
    by_key: dict[str, array[float]]

    def at(self, key: str, at: float) -> float | None:
        """The budget left at the last grid point at or before ``at``."""
        values = self.by_key.get(key)
        i = math.floor((at - self.start) / self.step_seconds + 1e-9)
        if values is None or not 0 <= i < len(values) or math.isnan(values[i]):
            return None
        return values[i]


def grid_step(slo: SLO, options: Options, budget_step: float) -> int:
    """Whole seconds, a multiple of the backtest's step, at least the budget step and the
    SLO's shortest window (which its scrape interval is known to fill)."""
    least = max(budget_step, min(slo.window_seconds, default=budget_step))
    return int(math.ceil(least / options.step - 1e-9) * options.step)


class CalendarBudgets:
    """Reads the grids of the calendar SLOs of a replay; counts its requests."""

    def __init__(self, source: Source, options: Options, budget_step: float) -> None:
        self.source = source
        self.options = options
        self.budget_step = budget_step
        self.requests = 0

    async def grids(self, slos: Sequence[SLO]) -> dict[str, Grid]:
        """A grid per calendar SLO of ``slos`` (by name); a failing query leaves that
        period's budget unknown, as a failing period query does for a rolling SLO."""
        return {s.name: await self._grid(s) for s in slos if s.calendar is not None}

    async def _grid(self, slo: SLO) -> Grid:
        assert slo.calendar is not None
        o = self.options
        step = grid_step(slo, o, self.budget_step)
        size = math.floor((o.end - o.start) / step + 1e-9) + 1
        grid = Grid(o.start, step, {})
        for part_start, part_end in period_slices(slo.calendar, o.start, o.end + 1e-9):
            since, _ = period_bounds(slo.calendar, part_start)
            first = math.ceil((part_start - o.start) / step - 1e-9)
            last = min(size - 1, math.ceil((part_end - o.start) / step - 1e-9) - 1)
            if first > last:
                continue
            try:
                steps = await self._steps(slo, since, o.start + first * step, last - first, step)
            except SloguardError:
                continue
            for key, readings in steps.items():
                values = grid.by_key.setdefault(key, array("d", [math.nan]) * size)
                for at, left in period_budget_line(slo, since, readings):
                    values[round((at - o.start) / step)] = left
        return grid

    async def _steps(
        self, slo: SLO, since: float, first: float, more: int, step: int
    ) -> dict[str, list[StepReading]]:
        """Per key: the readings over ``(since, first]``, then over each of ``more`` steps."""
        out: dict[str, list[StepReading]] = {}
        head = int(first - since)
        if head >= 1:
            for key, points in (await self._read(slo, head, first, first, 1)).items():
                out.setdefault(key, []).extend(points)
        chunk = self.options.max_points_per_query
        for begin in range(1, more + 1, chunk):
            end = min(more, begin + chunk - 1)
            got = await self._read(slo, step, first + begin * step, first + end * step, step)
            for key, points in got.items():
                out.setdefault(key, []).extend(points)
        return out

    async def _read(
        self, slo: SLO, window: int, start: float, end: float, step: int
    ) -> dict[str, list[StepReading]]:
        """Per key, the error ratio and event rate over ``window`` at each step of
        ``[start, end]``."""
        text = format_duration(window)
        ratios = await self._range(slo, slo.error_ratio_query(text), start, end, step)
        total = slo.total_query(text)
        rates = None if total is None else await self._range(slo, total, start, end, step)
        return {
            key: [
                StepReading(
                    t, window, v, None if rates is None else rates.get(key, {}).get(t, math.nan)
                )
                for t, v in sorted(points.items())
            ]
            for key, points in ratios.items()
        }

    async def _range(
        self, slo: SLO, expr: str, start: float, end: float, step: int
    ) -> dict[str, Mapping[float, float]]:
        self.requests += 1
        series = await self.source.query_range(group_expr(expr, slo.group_by), start, end, step)
        return {
            group_key(slo, tuple(s.labels.get(label, "") for label in slo.group_by)): dict(s.points)
            for s in series
        }


__all__ = ["CalendarBudgets", "Grid", "grid_step"]
