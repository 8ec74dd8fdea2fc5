"""The blameless postmortem draft of one episode, as Markdown. Pure: no I/O, no clock.

Input is what the state database records about an episode (its transitions, every
notification with its outcome, and the impact measured by :mod:`sloguard.lifecycle`) plus the
SLO's facts (service, owner, objective, links). Output is a draft a team edits, not a report:

* **Timeline**, first burn to resolve: when the fast window started burning above 1x, the
  declaration, every escalation and de-escalation, gaps in the data, every notification with
  its outcome (delivered, retrying, dead-lettered), and the resolve.
* **Impact** in SLO terms: peak burn rate, error budget consumed during the episode, budget
  remaining, time to declare, duration; the affected service and its owner.
* **Links**: runbook and dashboard.
* Empty, blameless sections for the people: summary, contributing factors, what went well,
  where we got lucky, action items.

It reads the store's history as :mod:`sloguard.records` (pure data), so it never imports the
store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sloguard.burn import burn_rate_text
from sloguard.durations import (
    format_duration,
    human_duration,
    iso_time,
    seconds_or_none,
)
from sloguard.model import SLO
from sloguard.records import Delivery, EpisodeRecord, Transition

MAX_TIMELINE_ENTRIES = 200  # a flapping data source must not make a megabyte webhook

_KIND_TEXT = {
    "declared": "Declared",
    "escalated": "Escalated",
    "reescalated": "Up again (not above the peak)",
    "deescalated": "De-escalated",
    "quiet": "No tier firing; quiet period starts",
    "refired": "Fired again within the quiet period",
    "resolved": "Resolved",
    "no_data": "No data",
    "stale": "Stale: no data for too long",
    "data_restored": "Data restored",
}


@dataclass(frozen=True, slots=True)
class SloFacts:
    """What the postmortem says about the SLO. Empty strings where unknown."""

    service: str = ""
    objective_percent: float | None = None
    period_seconds: int | None = None
    owner: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    runbook_url: str = ""
    dashboard_url: str = ""
    description: str = ""
    fast_window: str = ""  # the window the burn rates are measured on, e.g. "5m"
    # spec.runbook's steps by section (diagnostics, mitigations, escalation): the runbook used.
    runbook: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, slo: SLO) -> SloFacts:
        windows = slo.window_seconds
        return cls(
            service=slo.service,
            objective_percent=slo.objective_percent,
            period_seconds=slo.period_seconds,
            owner=MappingProxyType(dict(slo.owner)),
            runbook_url=slo.runbook_url,
            dashboard_url=slo.dashboard_url,
            description=slo.description,
            fast_window=format_duration(min(windows)) if windows else "",
            runbook=MappingProxyType({k: tuple(v) for k, v in slo.runbook.steps().items()}),
        )

    @classmethod
    def from_notification(cls, payload: Mapping[str, Any]) -> SloFacts:
        """From a stored notification (``Notification.to_json()``), when no SLO file is at hand."""
        period = payload.get("period")
        seconds = seconds_or_none(period) if isinstance(period, str) else None
        burns = payload.get("burn_rates") or {}
        fast = min(burns, key=lambda w: seconds_or_none(w) or 0) if burns else ""
        objective = payload.get("objective_percent")
        return cls(
            service=str(payload.get("service") or ""),
            objective_percent=float(objective) if isinstance(objective, int | float) else None,
            period_seconds=seconds,
            owner=MappingProxyType(
                {str(k): str(v) for k, v in (payload.get("owner") or {}).items()}
            ),
            runbook_url=str(payload.get("runbook_url") or ""),
            dashboard_url=str(payload.get("dashboard_url") or ""),
            description=str(payload.get("description") or ""),
            fast_window=str(fast),
            runbook=MappingProxyType(
                {
                    str(k): tuple(str(step) for step in v)
                    for k, v in (payload.get("runbook") or {}).items()
                    if isinstance(v, list)
                }
            ),
        )


def budget_consumed(burn_seconds: float | None, period_seconds: int | None) -> float | None:
    """Share of the period's error budget spent: burn-seconds / period (1.0 = all of it)."""
    if burn_seconds is None or not period_seconds:
        return None
    return burn_seconds / period_seconds


def _percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.2f} %"


def _burn(value: float | None) -> str:
    if value is None:
        return "unknown"
    return burn_rate_text(value)


@dataclass(frozen=True, slots=True, order=True)
class _Line:
    at: float
    order: int
    text: str


def _delivery_text(d: Delivery) -> str:
    what = f"notification `{d.kind}` to `{d.notifier}`"
    tries = f"{d.attempts} attempt{'s' if d.attempts != 1 else ''}"
    status = f", HTTP {d.last_status}" if d.last_status is not None else ""
    if d.status == "delivered":
        return f"{what} delivered ({tries}{status})"
    if d.status == "dead":
        return f"{what} **dead-lettered** after {tries}{status}: {d.last_error or 'refused'}"
    last = f"; last error: {d.last_error}" if d.last_error else ""
    return f"{what} queued, not delivered yet ({tries}{last})"


def _transition_text(t: Transition) -> str:
    head = _KIND_TEXT.get(t.kind, t.kind)
    if t.kind in ("declared", "escalated", "reescalated", "deescalated", "refired"):
        head += f" **{t.severity}**"
        if t.previous and t.kind != "refired":
            head += f" (from {t.previous})"
    elif t.kind in ("resolved", "stale"):
        head += f" (peak {t.severity})"
    paged = " — paged" if t.paged else ""
    reason = f" ({t.reason})" if t.reason and not t.paged else ""
    return head + paged + reason


def timeline(episode: EpisodeRecord, facts: SloFacts) -> list[tuple[float, str]]:
    """(time, text) of everything that happened, first burn to resolve, in time order."""
    lines: list[_Line] = []
    window = f" {facts.fast_window}" if facts.fast_window else ""
    if episode.burn_started_at is not None and episode.burn_started_at < episode.declared_at:
        lines.append(
            _Line(
                episode.burn_started_at,
                0,
                f"Burn starts: the{window} burn rate goes above 1x (spending the budget faster "
                "than the SLO period allows)",
            )
        )
    for i, t in enumerate(episode.transitions):
        lines.append(_Line(t.at, 1 + i, _transition_text(t)))
    base = len(episode.transitions) + 1
    for j, d in enumerate(episode.deliveries):
        at = d.finished_at if d.finished_at is not None else d.created_at
        lines.append(_Line(at, base + j, _delivery_text(d)))
    return [(line.at, line.text) for line in sorted(lines)]


def render(episode: EpisodeRecord, facts: SloFacts | None = None) -> str:
    """The Markdown draft of ``episode``."""
    facts = facts or SloFacts()
    start = episode.burn_started_at if episode.burn_started_at is not None else episode.declared_at
    out = [
        f"# Postmortem draft: {episode.slo}, {episode.peak}, {iso_time(episode.declared_at)[:10]}",
        "",
        "_Blameless: describe what happened and why the system allowed it, not who did what._",
        "",
        "## Summary",
        "",
        "<!-- Two or three sentences: what users saw, for how long, and how it ended. -->",
        "",
        "## Impact",
        "",
        f"- **SLO**: `{episode.slo}`"
        + (
            f", objective {facts.objective_percent:g} % "
            f"over {human_duration(facts.period_seconds, units=4)}"
            if facts.objective_percent is not None and facts.period_seconds
            else ""
        ),
        f"- **Service**: {facts.service or 'unknown'}",
        f"- **Owner**: {_owner(facts.owner)}",
        f"- **Peak severity**: {episode.peak}",
        f"- **Peak burn rate**{f' ({facts.fast_window})' if facts.fast_window else ''}: "
        f"{_burn(episode.peak_burn_rate)}",
        "- **Error budget consumed during the episode**: "
        f"{_percent(budget_consumed(episode.burn_seconds, facts.period_seconds))}",
        f"- **Error budget remaining**: {_percent(episode.budget_remaining)}",
        "- **Time from first burn to declaration**: "
        + human_duration(episode.declared_at - start, units=4),
    ]
    if episode.resolved_at is not None:
        out.append(
            "- **Duration (first burn to resolve)**: "
            + human_duration(episode.resolved_at - start, units=4)
        )
    else:
        out.append("- **Duration**: still open")
    first_page = _first_delivered_page(episode)
    if first_page is not None:
        out.append(
            "- **Time from first burn to the first page delivered**: "
            + human_duration(first_page - start, units=4)
        )
    out += ["", "## Timeline (UTC)", ""]
    entries = timeline(episode, facts)
    shown = entries[:MAX_TIMELINE_ENTRIES]
    out += [f"- {iso_time(at)} {text}" for at, text in shown]
    if len(entries) > len(shown):
        out.append(f"- … {len(entries) - len(shown)} more entries in the state database")
    out += [
        "",
        "## Links",
        "",
        f"- Runbook: {facts.runbook_url or 'none recorded'}",
        f"- Dashboard: {facts.dashboard_url or 'none recorded'}",
        f"- Episode id: `{episode.id}`",
        "",
        *_runbook(facts),
        "## Contributing factors",
        "",
        "<!-- What conditions made this possible? Look for several, not one root cause. -->",
        "",
        "## What went well",
        "",
        "## Where we got lucky",
        "",
        "## Action items",
        "",
        "| Action | Type (prevent / detect / mitigate) | Owner | Ticket |",
        "|---|---|---|---|",
        "| | | | |",
        "",
    ]
    return "\n".join(out)


def _runbook(facts: SloFacts) -> list[str]:
    """The runbook's steps at hand during the incident (spec.runbook), or nothing."""
    if not facts.runbook:
        return []
    out = ["## Runbook used", ""]
    for section, steps in facts.runbook.items():
        out += [f"**{section.title()}**", "", *(f"- `{step}`" for step in steps), ""]
    return out


def _owner(owner: Mapping[str, str]) -> str:
    if not owner:
        return "unknown"
    return ", ".join(f"{k}: {v}" for k, v in sorted(owner.items()))


def _first_delivered_page(episode: EpisodeRecord) -> float | None:
    times = [
        d.finished_at
        for d in episode.deliveries
        if d.status == "delivered" and d.kind in ("declared", "escalated") and d.finished_at
    ]
    return min(times) if times else None


__all__ = [
    "SloFacts",
    "budget_consumed",
    "render",
    "timeline",
]
