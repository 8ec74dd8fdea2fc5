"""Graphs over time as SVG: series scaled into a box, and the markup that draws them. Pure.

One home for the drawing the UI's SLO page and the report's HTML share: the error budget left
over the period (a line against a dashed zero), and each tier's long and short windows
against the tier's threshold (dashed). The data comes in as points; no query, no clock. The
markup is numbers and escaped text only, and never a script, so a page embedding it stays
self-contained and safe to open from a file.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from sloguard.burn import burn_rate_text

WIDTH, HEIGHT = 600, 160  # the box of chart()'s defaults
# The lines' colours: in the report's stylesheet and the UI's.
CSS = (
    ".threshold{stroke:#1d2430;stroke-dasharray:4 3}svg{background:#fff}"
    ".line{fill:none;stroke-width:2}.line.w1{stroke:#1a73e8}.line.w2{stroke:#e8710a}"
    ".line.budget{stroke:#5e35b1}.legend.w1{color:#1a73e8}.legend.w2{color:#e8710a}"
)


@dataclass(frozen=True, slots=True)
class Line:
    """One series over time: a window's burn rate, or the budget left (a ratio)."""

    window: str
    points: tuple[tuple[float, float], ...]  # (unix seconds, value)


@dataclass(frozen=True, slots=True)
class TierLines:
    """One tier's two windows over time and the threshold both must cross to fire."""

    severity: str
    long: Line
    short: Line
    threshold: float


@dataclass(frozen=True, slots=True)
class Plot:
    """A line as SVG polyline points (numbers only)."""

    window: str
    points: str
    last: float | None  # the newest value, for the legend


@dataclass(frozen=True, slots=True)
class Chart:
    """Lines and horizontal marks (a threshold, zero) scaled into one box, numbers only."""

    lines: tuple[Plot, ...]
    marks: tuple[float, ...]  # the y of each mark, in the order given
    top: float  # the value at y = 0
    bottom: float  # the value at y = height


def chart(
    lines: Sequence[Line],
    marks: Sequence[float] = (),
    *,
    width: float = 600,
    height: float = 160,
    floor: float = 0.0,
    ceiling: float = 1.0,
    start: float | None = None,
    end: float | None = None,
) -> Chart | None:
    """Lines on one time scale (``start`` to ``end``, else the points' own) and one value
    scale that holds every value, every mark, ``floor`` and ``ceiling``, with a tenth of
    headroom; None when there is no point. A period with data for its last hours only is
    drawn at the right of the whole period, not stretched over it."""
    times = [t for line in lines for t, _ in line.points]
    if not times:
        return None
    start = min(times) if start is None else start
    span = max((max(times) if end is None else end) - start, 1.0)
    values = [v for line in lines for _, v in line.points]
    low = min([floor, *values, *marks])
    high = max([ceiling, *values, *marks])
    pad = (high - low) * 0.1
    high, low = high + pad, low - pad if low < floor else low

    def y(value: float) -> float:
        return height - height * (value - low) / (high - low)

    plots = tuple(
        Plot(
            line.window,
            " ".join(f"{(t - start) / span * width:.1f},{y(v):.1f}" for t, v in line.points),
            line.points[-1][1] if line.points else None,
        )
        for line in lines
    )
    return Chart(plots, tuple(y(m) for m in marks), high, low)


def svg(drawn: Chart, *, label: str, classes: Sequence[str], attrs: str = "") -> str:
    """The ``<svg>`` of a chart: one polyline per line (``classes[i]`` its CSS class, its
    window as its title) and a dashed line per mark. ``label`` is escaped; ``attrs`` is
    markup the caller writes (an id or class), never data."""
    esc = html.escape
    polylines = "".join(
        f'<polyline class="line {esc(cls)}" points="{p.points}"><title>{esc(p.window)}</title>'
        "</polyline>"
        for p, cls in zip(drawn.lines, classes, strict=False)
    )
    marks = "".join(
        f'<line class="threshold" x1="0" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'
        for y in drawn.marks
    )
    return (
        f'<svg{attrs} role="img" aria-label="{esc(label)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">{polylines}{marks}</svg>'
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _rate(value: float | None) -> str:
    return "-" if value is None else burn_rate_text(value)


def budget_figure(
    budget: Line, attrs: str = "", span: tuple[float, float] | None = None
) -> str | None:
    """The budget left over time against a dashed zero (the budget spent), and its legend:
    the last value and the scale; None without data. ``span`` is the time scale (start, end),
    else the points' own."""
    start, end = span or (None, None)
    drawn = chart([budget], [0.0], start=start, end=end)
    if drawn is None:
        return None
    label = "error budget left over the period"
    legend = (
        f"<p>{_percent(drawn.lines[0].last)} left at the end; the dashed line is a spent "
        f"budget; scale {_percent(drawn.bottom)} to {_percent(drawn.top)}</p>"
    )
    return svg(drawn, label=label, classes=["budget"], attrs=attrs) + legend


def tier_figure(
    tier: TierLines, attrs: str = "", span: tuple[float, float] | None = None
) -> str | None:
    """A tier's long and short windows against its threshold, and a legend naming each
    window with its last burn rate, and the scale; None without data (``span``: as
    :func:`budget_figure`)."""
    start, end = span or (None, None)
    drawn = chart([tier.long, tier.short], [tier.threshold], start=start, end=end)
    if drawn is None:
        return None
    label = f"{tier.severity} burn rate over time"
    names = ", ".join(
        f'<span class="legend w{i}">{html.escape(p.window)} at the end {_rate(p.last)}</span>'
        for i, p in enumerate(drawn.lines, start=1)
    )
    legend = f"<p>{names}; threshold dashed; scale up to {_rate(drawn.top)}</p>"
    return svg(drawn, label=label, classes=["w1", "w2"], attrs=attrs) + legend


__all__ = [
    "CSS",
    "Chart",
    "Line",
    "Plot",
    "TierLines",
    "budget_figure",
    "chart",
    "svg",
    "tier_figure",
]
