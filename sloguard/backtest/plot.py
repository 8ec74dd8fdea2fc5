"""``sloguard backtest --plot FILE.png``: the backtest as a picture (optional: ``sloguard[plot]``).

Per SLO key, two panels over the whole range:

* the error budget remaining over the SLO period (%), with 0 % marked;
* the burn rate of every window (symmetric log scale: linear below 1x, log above), each
  policy's tier thresholds as horizontal lines, and the episodes as shaded bands (the first
  policy's, coloured by their highest severity) plus a lane per policy at the top.

matplotlib is imported only here and only when called, with the Agg backend and no pyplot
global state (a Figure with its own canvas), so nothing opens a window.
"""

from __future__ import annotations

import importlib.util
import math
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sloguard.backtest._model import Episode, Result
from sloguard.durations import format_duration
from sloguard.errors import SloguardError
from sloguard.model import Severity

MAX_POINTS = 2000  # per line; peaks survive (max per bucket for burn rates)
SEVERITY_COLOURS = {
    Severity.SEV1: "#d62728",
    Severity.SEV2: "#ff7f0e",
    Severity.SEV3: "#bcbd22",
}
INSTALL_HINT = "--plot needs matplotlib: pip install 'sloguard[plot]'"


def available() -> bool:
    """Whether matplotlib can be imported (checked before a long backtest starts)."""
    return importlib.util.find_spec("matplotlib") is not None


def _downsample(
    values: array[float], start: float, step: float, *, keep_max: bool
) -> tuple[list[datetime], list[float]]:
    n = len(values)
    bucket = max(1, math.ceil(n / MAX_POINTS))
    times: list[datetime] = []
    out: list[float] = []
    for i in range(0, n, bucket):
        chunk = [v for v in values[i : i + bucket] if not math.isnan(v)]
        times.append(datetime.fromtimestamp(start + i * step, UTC))
        if not chunk:
            out.append(math.nan)
        else:
            out.append(max(chunk) if keep_max else min(chunk))
    return times, out


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def plot(result: Result, path: str | Path) -> int:
    """Draw ``result`` (run with ``Options.record_series``) into the PNG at ``path``; returns
    the number of SLO keys drawn. Raises SloguardError when matplotlib is missing."""
    if not available():
        raise SloguardError(INSTALL_HINT)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = sorted(result.series) or sorted({e.slo for e in result.episodes})
    if not keys:
        raise SloguardError("nothing to plot: no SLO was evaluated")
    o = result.options
    figure = Figure(figsize=(13, 5.2 * len(keys)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2 * len(keys), 1, sharex=True, squeeze=False)
    for n, key in enumerate(keys):
        budget_ax, burn_ax = axes[2 * n][0], axes[2 * n + 1][0]
        series = result.series.get(key)
        episodes = [e for e in result.episodes if e.slo == key]
        if series is not None:
            times, budget = _downsample(series.budget, o.start, o.step, keep_max=False)
            budget_ax.plot(times, [b * 100 for b in budget], color="#1f77b4", lw=1.2)
            for window in sorted(series.burn):
                times, burns = _downsample(series.burn[window], o.start, o.step, keep_max=True)
                burn_ax.plot(times, burns, lw=0.9, label=f"burn {format_duration(window)}")
        budget_ax.axhline(0, color="black", lw=0.8)
        budget_ax.set_ylabel("budget left (%)")
        budget_ax.set_title(f"{key}: error budget remaining over the SLO period")
        _thresholds(burn_ax, result, key)
        burn_ax.set_yscale("symlog", linthresh=1.0)
        burn_ax.set_ylim(bottom=0)
        burn_ax.set_ylabel("burn rate (x)")
        burn_ax.set_title(f"{key}: burn rate per window; thresholds dashed; episodes shaded")
        _episodes(budget_ax, burn_ax, result, episodes)
        burn_ax.legend(loc="upper left", fontsize=7, ncol=4)
        burn_ax.grid(True, which="major", alpha=0.3)
        budget_ax.grid(True, alpha=0.3)
    axes[-1][0].set_xlabel("time (UTC)")
    axes[-1][0].set_xlim(_when(o.start), _when(o.end))
    figure.savefig(str(path), format="png")
    return len(keys)


def _thresholds(ax: Any, result: Result, key: str) -> None:
    styles = ["--", ":", "-."]
    for p, policy in enumerate(result.policies):
        plans = result.plans.get(policy.name, ())
        slo = next(
            (sp.slo for sp in plans if key == sp.slo.name or key.startswith(sp.slo.name + "{")),
            None,
        )
        if slo is None:
            continue
        for tier in slo.tiers:
            factor = tier.factor(slo.period_seconds)
            ax.axhline(
                factor,
                color=SEVERITY_COLOURS[tier.severity],
                ls=styles[p % len(styles)],
                lw=0.9,
                label=f"{policy.name}: {tier.severity} {tier.long}/{tier.short} {factor:.3g}x",
            )


def _episodes(budget_ax: Any, burn_ax: Any, result: Result, episodes: Sequence[Episode]) -> None:
    end = result.options.end
    first = result.policies[0].name
    for e in episodes:
        colour = SEVERITY_COLOURS.get(e.severity_max, "grey")
        until = e.resolved_at if e.resolved_at is not None else end
        lane = next(i for i, p in enumerate(result.policies) if p.name == e.policy)
        if e.policy == first:
            for ax in (budget_ax, burn_ax):
                ax.axvspan(_when(e.declared_at), _when(until), color=colour, alpha=0.15, lw=0)
        # one thin lane per policy along the top of the burn panel (axes coordinates in y)
        top = 1.0 - lane * 0.06
        burn_ax.axvspan(
            _when(e.declared_at),
            _when(until),
            ymin=top - 0.05,
            ymax=top,
            color=colour,
            alpha=0.8,
            lw=0,
        )
