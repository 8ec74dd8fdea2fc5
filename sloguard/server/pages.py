"""What the UI pages show, as plain rows: pure functions of the evaluations and records.

No I/O and no HTML here (the templates escape and lay out); the SVG graphs are drawn from
numbers into a small path description the template writes out, every value a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sloguard.burn import Evaluation
from sloguard.durations import format_duration
from sloguard.model import SLO

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class SloRow:
    """One line of the SLO list."""

    key: str
    name: str
    service: str
    team: str
    objective_percent: float | None
    severity: str
    budget_left: float | None
    time_to_exhaustion: str
    burn_rates: tuple[tuple[str, float | None], ...]
    labels: Mapping[str, str]
    description: str


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters, from the query string; empty means no filter."""

    text: str = ""
    severity: str = ""
    service: str = ""
    label: str = ""  # "key=value"
    page: int = 1

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        page_text = query.get("page", "1")
        page = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
        return cls(
            text=query.get("q", "").strip()[:200],
            severity=query.get("severity", "").strip().upper()[:10],
            service=query.get("service", "").strip()[:200],
            label=query.get("label", "").strip()[:200],
            page=page,
        )


def slo_rows(evaluations: Sequence[Evaluation], slos: Mapping[str, SLO]) -> list[SloRow]:
    """Every evaluated SLO (group) as a row, worst budget first (unknown budgets last)."""
    return page_of(evaluations, slos, Filters(), size=len(evaluations))[0]


def groups_of(
    name: str, evaluations: Sequence[Evaluation], slos: Mapping[str, SLO]
) -> list[SloRow]:
    """The groups of the grouped SLO named ``name`` as rows, worst budget first; [] when no
    grouped SLO of that name was evaluated."""
    mine = [
        ev
        for ev in evaluations
        if (slo := slos.get(ev.slo)) is not None and slo.group_by and slo.name == name
    ]
    return slo_rows(mine, slos)


def page_of(
    evaluations: Sequence[Evaluation],
    slos: Mapping[str, SLO],
    filters: Filters,
    size: int = PAGE_SIZE,
) -> tuple[list[SloRow], int]:
    """(the rows of the asked page, the number of matching SLOs): filtered and sorted on the
    evaluations, and only the page's rows built, so 10,000 SLOs cost one sort."""
    matching = [ev for ev in evaluations if _matches(ev, slos.get(ev.slo), filters)]
    matching.sort(key=_worst_first)
    start = (filters.page - 1) * size
    return [_row(ev, slos.get(ev.slo)) for ev in matching[start : start + size]], len(matching)


def _worst_first(ev: Evaluation) -> tuple[int, float, str]:
    budget = ev.error_budget_remaining
    if budget is None or math.isnan(budget):
        return (1, 0.0, ev.slo)
    return (0, budget, ev.slo)


def _row(ev: Evaluation, slo: SLO | None) -> SloRow:
    tte = ev.time_to_exhaustion_seconds
    return SloRow(
        key=ev.slo,
        name=slo.name if slo else ev.slo,
        service=slo.service if slo else "",
        team=(slo.owner.get("team", "") if slo else "") or "",
        objective_percent=slo.objective_percent if slo else None,
        severity=ev.severity.name,
        budget_left=ev.error_budget_remaining,
        time_to_exhaustion=_duration_text(tte),
        burn_rates=tuple(ev.burn_rates_by_name().items()),
        labels=dict(ev.labels) if ev.labels else dict(slo.labels) if slo else {},
        description=slo.description if slo else "",
    )


def _duration_text(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "unknown"
    if math.isinf(seconds):
        return "never"
    return format_duration(max(1, int(seconds)))


def _matches(ev: Evaluation, slo: SLO | None, f: Filters) -> bool:
    if f.severity and ev.severity.name != f.severity:
        return False
    service = slo.service if slo else ""
    if f.service and service != f.service:
        return False
    if f.label:
        key, _, value = f.label.partition("=")
        labels = ev.labels or (slo.labels if slo else {})
        if labels.get(key.strip()) != value.strip():
            return False
    if f.text:
        team = slo.owner.get("team", "") if slo else ""
        description = slo.description if slo else ""
        return f.text.lower() in f"{ev.slo} {service} {team} {description}".lower()
    return True


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a bar graph, in SVG user units, with its label and threshold line."""

    label: str
    x: float
    y: float
    height: float
    threshold_y: float | None
    over: bool
    value_text: str


def burn_bars(ev: Evaluation, *, width: float = 600, height: float = 200) -> list[Bar]:
    """The burn rate of every window as bars, with the highest tier threshold that uses the
    window drawn as a line; the scale fits the largest value or threshold."""
    thresholds: dict[int, float] = {}
    for d in ev.tiers:
        for window in (d.tier.long_seconds, d.tier.short_seconds):
            thresholds[window] = min(thresholds.get(window, math.inf), d.factor)
    values = [v for v in ev.burn_rates.values() if v is not None and math.isfinite(v)]
    top = max([1.0, *values, *thresholds.values()]) * 1.1
    count = max(1, len(ev.burn_rates))
    slot = width / count
    bars = []
    for i, (window, rate) in enumerate(ev.burn_rates.items()):
        value = rate if rate is not None and math.isfinite(rate) else 0.0
        bar_height = height * value / top
        limit = thresholds.get(window)
        bars.append(
            Bar(
                label=format_duration(window),
                x=i * slot + slot * 0.15,
                y=height - bar_height,
                height=bar_height,
                threshold_y=None if limit is None else height - height * limit / top,
                over=limit is not None and value >= limit,
                value_text="no data" if rate is None else f"{value:.2f}",
            )
        )
    return bars


__all__ = [
    "PAGE_SIZE",
    "Bar",
    "Filters",
    "SloRow",
    "burn_bars",
    "groups_of",
    "page_of",
    "slo_rows",
]
