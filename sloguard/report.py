"""The reliability review of a period, per SLO: what a weekly review and a postmortem read. Pure.

For each SLO key (each group of a grouped SLO is its own row, as the daemon evaluates it):
availability over the period against the objective, the budget that period spent, the
episodes declared in it (by severity, with the budget each one spent, time to detect and time
to resolve) and the pages per week. The worst offenders (most budget spent) come first. The
figures come in as data: the error ratio of the period from Prometheus, the episodes from the
state database (``sloguard.store``), and for the HTML the series the UI draws (the budget
left over the SLO period and each tier's windows, drawn by :mod:`sloguard.charts`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sloguard.burn import burn_rate_text
from sloguard.charts import CSS, Line, TierLines, budget_figure, tier_figure
from sloguard.durations import human_duration, iso_time
from sloguard.model import SLO
from sloguard.periods import period_bounds, period_name
from sloguard.records import EpisodeRecord

WEEK_SECONDS = 7 * 86400


@dataclass(frozen=True, slots=True)
class EpisodeLine:
    """One episode of the period: its peak and what it cost."""

    id: str
    peak: str
    declared_at: float
    resolved_at: float | None
    budget_spent: float | None  # share of the SLO period's budget (burn-seconds / period)
    time_to_detect_seconds: float | None  # burn start -> declaration
    time_to_resolve_seconds: float | None  # declaration -> resolve
    pages: int


@dataclass(frozen=True, slots=True)
class Graphs:
    """What the HTML draws for one SLO key over the period, as the UI's SLO page does."""

    budget: Line  # budget left over the SLO period at each instant (1 untouched, < 0 overspent)
    tiers: tuple[TierLines, ...]  # burn rates of each tier's windows, most severe first


@dataclass(frozen=True, slots=True)
class SloReview:
    """One SLO key over the period: ``slo`` is the key (``name`` or ``name{group}``)."""

    slo: str
    service: str
    objective_percent: float
    period: str
    error_ratio: float | None  # over the report's period; None without data
    budget_spent: float | None  # share of the SLO period's budget the report's period spent
    episodes: tuple[EpisodeLine, ...] = ()
    pages_per_week: float = 0.0
    episodes_by_severity: dict[str, int] = field(default_factory=dict)
    name: str = ""  # the spec's SLO name (the key without its group)
    group: Mapping[str, str] = field(default_factory=dict)  # the group's labels; {} ungrouped
    graphs: Graphs | None = None
    # A calendar SLO has a row per calendar period the report's range touches: the period's
    # name (``March 2024``, with the part covered when the range holds only part of it) and
    # that part as [start, end); "" and None for a rolling SLO, whose row is the whole range.
    calendar_period: str = ""
    span: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """The row's name in a table: the key, and a calendar SLO's period."""
        return f"{self.slo} ({self.calendar_period})" if self.calendar_period else self.slo

    @property
    def availability_percent(self) -> float | None:
        return None if self.error_ratio is None else (1.0 - self.error_ratio) * 100.0

    @property
    def met(self) -> bool | None:
        avail = self.availability_percent
        return None if avail is None else avail >= self.objective_percent


@dataclass(frozen=True, slots=True)
class Report:
    start: float
    end: float
    slos: tuple[SloReview, ...]


_GROUP_LABEL = re.compile(r'(\w+)="([^"]*)"')


def group_labels(key: str) -> dict[str, str]:
    """The labels of a group's key ``name{a="x",b="y"}`` (as the engine writes it), {} for an
    ungrouped key."""
    _, brace, inner = key.partition("{")
    return dict(_GROUP_LABEL.findall(inner)) if brace else {}


def onset(points: Sequence[tuple[float, float]], budget: float) -> float | None:
    """When the burn that led to a declaration began, from the data: the first point of the
    last unbroken run of the shortest window burning above 1x (``points`` are error ratios up
    to the declaration). None when the last point does not burn."""
    start = None
    for at, ratio in reversed(points):
        if ratio / budget <= 1.0:
            break
        start = at
    return start


def episode_line(episode: EpisodeRecord, slo: SLO, burn_onset: float | None = None) -> EpisodeLine:
    """An episode's cost and timings; the budget share is its burn-seconds over the period.

    Time to detect runs from ``burn_onset`` (from the data, see :func:`onset`) when known, else
    from the burn start the daemon itself saw."""
    length = slo.exhaustion_period_seconds(episode.declared_at)  # a calendar period's own
    spent = None if episode.burn_seconds is None else episode.burn_seconds / length
    began = burn_onset if burn_onset is not None else episode.burn_started_at
    detect = None if began is None else episode.declared_at - began
    resolve = None if episode.resolved_at is None else episode.resolved_at - episode.declared_at
    pages = sum(
        1
        for t in episode.transitions
        if t.paged and t.kind in ("declared", "escalated") and t.severity in ("SEV1", "SEV2")
    )
    return EpisodeLine(
        episode.id, episode.peak, episode.declared_at, episode.resolved_at, spent, detect, resolve,
        pages,
    )  # fmt: skip


def review(
    key: str,
    slo: SLO,
    error_ratio: float | None,
    episodes: Sequence[EpisodeRecord],
    start: float,
    end: float,
    onsets: Mapping[str, float] | None = None,
    graphs: Graphs | None = None,
) -> SloReview:
    """One SLO key over ``[start, end]``; ``episodes`` are all of the key's, any time;
    ``onsets`` the burn onset from the data by episode id; ``graphs`` what the HTML draws.

    The budget spent is the error ratio over the range / budget x range / period: for a
    calendar SLO ``[start, end]`` lies in one calendar period (see ``periods.period_slices``)
    and the period is that period's real length, so a whole month's row spends ratio / budget
    of that month's budget, and a row from the period's start to an instant spends what the
    daemon's budget had spent at that instant."""
    inside = [e for e in episodes if start <= e.declared_at < end]
    found = onsets or {}
    lines = tuple(
        sorted(
            (episode_line(e, slo, found.get(e.id)) for e in inside),
            key=lambda x: -(x.budget_spent or 0.0),
        )
    )
    by_sev: dict[str, int] = {}
    for line in lines:
        by_sev[line.peak] = by_sev.get(line.peak, 0) + 1
    seconds = end - start
    share = seconds / slo.exhaustion_period_seconds(start)
    spent = None if error_ratio is None else error_ratio / slo.budget * share
    pages = sum(line.pages for line in lines)
    return SloReview(
        slo=key,
        service=slo.service,
        objective_percent=slo.objective_percent,
        period=slo.period,
        error_ratio=error_ratio,
        budget_spent=spent,
        episodes=lines,
        pages_per_week=pages * WEEK_SECONDS / seconds if seconds > 0 else 0.0,
        episodes_by_severity=dict(sorted(by_sev.items())),
        name=slo.name,
        group=group_labels(key),
        graphs=graphs,
        calendar_period=calendar_period(slo, start, end),
        span=None if slo.calendar is None else (start, end),
    )


def calendar_period(slo: SLO, start: float, end: float) -> str:
    """The name of the calendar period ``[start, end)`` lies in, with that part when it is
    not the whole period; "" for a rolling SLO."""
    if slo.calendar is None:
        return ""
    name = period_name(slo.calendar, start)
    if (start, end) == period_bounds(slo.calendar, start):
        return name
    return f"{name}, {iso_time(start)} to {iso_time(end)}"


def build(start: float, end: float, reviews: Sequence[SloReview]) -> Report:
    """The report, worst offenders first (most budget spent; unknown last)."""
    ordered = sorted(
        reviews,
        key=lambda r: (r.budget_spent is None, -(r.budget_spent or 0.0), r.slo, r.span or ()),
    )
    return Report(start, end, tuple(ordered))


# --------------------------------------------------------------------------- renderings


def _pct(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _dur(value: float | None) -> str:
    return "-" if value is None else human_duration(value)


def as_json(report: Report) -> dict[str, Any]:
    return {
        "from": iso_time(report.start),
        "to": iso_time(report.end),
        "slos": [
            {
                "slo": r.slo,
                "name": r.name or r.slo,
                "group": dict(r.group),
                "service": r.service,
                "objective_percent": r.objective_percent,
                "period": r.period,
                "calendar_period": None
                if r.span is None
                else {
                    "name": r.calendar_period,
                    "from": iso_time(r.span[0]),
                    "to": iso_time(r.span[1]),
                },
                "availability_percent": r.availability_percent,
                "objective_met": r.met,
                "error_ratio": r.error_ratio,
                "budget_spent": r.budget_spent,
                "episodes_by_severity": r.episodes_by_severity,
                "pages_per_week": r.pages_per_week,
                "episodes": [
                    {
                        "id": e.id,
                        "peak": e.peak,
                        "declared_at": iso_time(e.declared_at),
                        "resolved_at": None if e.resolved_at is None else iso_time(e.resolved_at),
                        "budget_spent": e.budget_spent,
                        "time_to_detect_seconds": e.time_to_detect_seconds,
                        "time_to_resolve_seconds": e.time_to_resolve_seconds,
                        "pages": e.pages,
                    }
                    for e in r.episodes
                ],
            }
            for r in report.slos
        ],
    }


def _rows(report: Report) -> tuple[list[str], list[list[str]]]:
    head = ["SLO", "availability", "objective", "budget spent", "episodes", "pages/week"]
    rows = [
        [
            r.label,
            _pct(None if r.error_ratio is None else 1.0 - r.error_ratio),
            f"{r.objective_percent:g}%",
            _pct(r.budget_spent, 1),
            ", ".join(f"{n} {sev}" for sev, n in r.episodes_by_severity.items()) or "none",
            f"{r.pages_per_week:.1f}",
        ]
        for r in report.slos
    ]
    return head, rows


def _episode_rows(report: Report) -> list[list[str]]:
    return [
        [
            r.label,
            e.id,
            e.peak,
            _pct(e.budget_spent, 1),
            _dur(e.time_to_detect_seconds),
            _dur(e.time_to_resolve_seconds),
            str(e.pages),
        ]
        for r in report.slos
        for e in r.episodes
    ]


EPISODE_HEAD = ["SLO", "episode", "peak", "budget spent", "time to detect", "time to resolve",
                "pages"]  # fmt: skip


def as_markdown(report: Report) -> str:
    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        cells = [head, ["---"] * len(head), *rows]
        return ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]

    out = [f"# Reliability review {iso_time(report.start)} to {iso_time(report.end)}", ""]
    out += ["Worst first: the most error budget spent over the period.", ""]
    out += table(*_rows(report))
    episodes = _episode_rows(report)
    out += ["", "## Episodes", ""]
    out += table(EPISODE_HEAD, episodes) if episodes else ["No episode was declared."]
    return "\n".join(out) + "\n"


def _table_html(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _graphs_html(r: SloReview, span: tuple[float, float]) -> str:
    """One SLO key's section: the budget left over its period, then each tier's windows."""
    esc = html.escape
    out = [f'<section class="slo"><h3>{esc(r.label)}</h3>']
    if r.graphs is None:
        return "".join([*out, "<p>No graphs (an SLO without burn tiers or budget).</p></section>"])
    drawn = budget_figure(r.graphs.budget, ' class="budget-history"', span)
    period = f"{iso_time(span[0])} to {iso_time(span[1])}"
    out.append(f"<h4>Error budget left over the SLO period ({esc(r.period)}), {period}</h4>")
    out.append(drawn or "<p>No data over the period.</p>")
    for t in r.graphs.tiers:
        windows = f"{t.long.window} and {t.short.window}"
        title = f"{t.severity}: {windows}, threshold {burn_rate_text(t.threshold)}"
        out.append(f'<h4 class="tier-title">{esc(title)}</h4>')
        out.append(tier_figure(t, ' class="tier-history"', span) or "<p>No data.</p>")
    return "".join([*out, "</section>"])


_PAGE_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#1d2430}"
    "table{border-collapse:collapse}th,td{padding:.3em .5em;border-bottom:1px solid #e3e6ea;"
    "text-align:left}" + CSS
)


def as_html(report: Report) -> str:
    """One self-contained page: the tables, then per SLO key the UI's graphs over the period
    (inline SVG and an inline stylesheet; no script, nothing fetched)."""
    title = f"Reliability review {iso_time(report.start)} to {iso_time(report.end)}"
    episodes = _episode_rows(report)
    graphs = "".join(_graphs_html(r, r.span or (report.start, report.end)) for r in report.slos)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_PAGE_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Worst first: the most error budget spent.</p>"
        f"{_table_html(*_rows(report))}<h2>Episodes</h2>"
        f"{_table_html(EPISODE_HEAD, episodes) if episodes else '<p>No episode was declared.</p>'}"
        f"<h2>Graphs</h2>{graphs}"
        "</body></html>\n"
    )


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_json(report), indent=2, allow_nan=False) + "\n"
    return as_html(report) if fmt == "html" else as_markdown(report)


__all__ = [
    "EpisodeLine",
    "Graphs",
    "Report",
    "SloReview",
    "as_html",
    "as_json",
    "as_markdown",
    "build",
    "episode_line",
    "group_labels",
    "onset",
    "render",
    "review",
]
