"""What the demo prints: the evaluation table, one line per arrival at a receiver, one line per
decision of the daemon. Pure functions of what they are given (times are story times, UTC)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from harness.demo import story
from harness.demo.story import clock
from harness.receivers import Arrival
from sloguard.burn import Evaluation, TierState, burn_rate_text
from sloguard.durations import format_duration, iso_time
from sloguard.model import Severity
from sloguard.supervisor import SKIPPED_TICK_MESSAGE

STYLE: dict[Severity, dict[str, Any]] = {
    Severity.SEV1: {"fg": "red", "bold": True},
    Severity.SEV2: {"fg": "red"},
    Severity.SEV3: {"fg": "yellow"},
    Severity.OK: {"fg": "green"},
    Severity.NO_DATA: {"fg": "magenta"},
}
INDENT = " " * 10  # under the time column
TABLE = " " * 2  # rows of the evaluation table: it is wide, so barely indented


def burn(value: float | None) -> str:
    """``200x``, ``14.4x``, ``0.50x``; ``-`` when unknown."""
    return "-" if value is None else burn_rate_text(value, fine=True)


def _budget(e: Evaluation) -> str:
    return "-" if e.error_budget_remaining is None else f"{e.error_budget_remaining * 100:.1f} %"


def _sev(severity: Severity, width: int = 0) -> str:
    return click.style(f"{severity.name:<{width}}", **STYLE[severity])


def table(at: float, evaluations: Sequence[Evaluation], title: str) -> list[str]:
    """The evaluation at ``at``: severity, burn rate per window and budget left per SLO, and
    under a row, why it is not OK (or why it is OK although a window burns fast)."""
    windows = sorted({w for e in evaluations for w in e.burn_rates if w != 30 * 86400})
    width = max(len(e.slo) for e in evaluations)
    head = f"{'SLO':<{width}}  {'now':<7}" + "".join(f"{format_duration(w):>7}" for w in windows)
    head += f"  {'budget left':>11}"
    lines = [click.style(f"{clock(at)}  {title}", bold=True), TABLE + click.style(head, dim=True)]
    for e in evaluations:
        row = f"{e.slo:<{width}}  {_sev(e.severity, 7)}"
        row += "".join(f"{burn(e.burn_rates.get(w)):>7}" for w in windows)
        lines.append(TABLE + row + f"  {_budget(e):>11}")
        reason = why(e)
        if reason:
            lines.append(TABLE + " " * (width + 2) + click.style(f"why: {reason}", dim=True))
    return lines


def why(e: Evaluation) -> str:
    """The firing tiers with their thresholds; else a tier with one window over its threshold;
    or the error that kept the SLO from being evaluated."""
    if e.error:
        return e.error
    firing = [d for d in e.tiers if d.state is TierState.FIRING]
    if firing:
        return "; ".join(
            f"{d.tier.severity.name}: {d.tier.long} and {d.tier.short} both over {burn(d.factor)}"
            for d in firing
        )
    # Not firing, but one window over: only both together fire (after a burn, the long one
    # drains slowly; before one, the short one leads).
    half = [
        d
        for d in e.tiers
        if d.long_burn_rate is not None
        and d.short_burn_rate is not None
        and (d.long_burn_rate > d.factor) != (d.short_burn_rate > d.factor)
    ]
    for d in half[:1]:
        over, under = (d.tier.long, d.tier.short)
        if d.short_burn_rate is not None and d.short_burn_rate > d.factor:
            over, under = under, over
        return f"{over} over {burn(d.factor)} but {under} not: no {d.tier.severity.name}"
    return ""


def still(at: float, evaluations: Sequence[Evaluation]) -> str:
    """A one-line reminder between changes: who is burning."""
    bad = [e for e in evaluations if e.severity is not Severity.OK]
    ok = len(evaluations) - len(bad)
    parts = [f"{_sev(e.severity)} {e.slo}" for e in bad]
    parts.append(f"{ok} OK" if bad else f"all {ok} SLOs OK")
    return click.style(f"{clock(at)}  still: ", dim=True) + ", ".join(parts)


# --------------------------------------------------------------------------- arrivals


def _body(arrival: Arrival) -> Mapping[str, Any]:
    try:
        data = json.loads(arrival.body) if arrival.body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def describe(service: str, arrival: Arrival) -> tuple[str, str, str]:
    """(what, key, headline) of one request: the action, its dedup key, the page's title."""
    body = _body(arrival)
    if service == "pagerduty":
        action = str(body.get("event_action", arrival.method))
        payload = body.get("payload") or {}
        what = f"{action} {payload.get('severity', '')}".strip()
        title = str(payload.get("summary", "")) if action == "trigger" else ""
        return what, f"dedup_key={body.get('dedup_key', '-')}", title
    if service == "opsgenie":
        parts = [p for p in arrival.path.split("/") if p]
        if arrival.method == "POST" and parts == ["v2", "alerts"]:
            what = f"create {body.get('priority', '')}".strip()
            return what, f"alias={body.get('alias', '-')}", str(body.get("message", ""))
        action = parts[-1] if len(parts) >= 4 else arrival.method
        return action, f"alias={parts[2] if len(parts) >= 4 else '-'}", ""
    if service == "webhook":
        meta = body.get("metadata") or {}
        what = f"{body.get('status', '?')} {meta.get('severity', '')}".strip()
        return what, f"webhook-id={arrival.headers.get('webhook-id', '-')}", ""
    text = str(body.get("text", "")).splitlines()
    return "message", "", text[0] if text else ""


def _companion(arrival: Arrival) -> bool:
    """A resolve or close of the episode's stale-data alert that was never opened."""
    return arrival.outcome in ("dropped", "accepted-not-applied")


def outcome(arrival: Arrival) -> str:
    status = "no answer" if arrival.status is None else str(arrival.status)
    if _companion(arrival):
        return f"{status}, nothing to close: the stale-data alert was never opened"
    text = f"{status} {arrival.outcome}"
    if arrival.errors:
        text += ": " + "; ".join(arrival.errors[:2])
    return text if arrival.accepted else click.style(text, fg="red", bold=True)


def arrival_lines(service: str, arrival: Arrival, at: float) -> list[str]:
    what, key, title = describe(service, arrival)
    if service == "slack":  # no key: the message's first line is what people see
        key, title = truncate(f'"{title}"', 72), ""
    line = f"{clock(at)}  -> {service:<9} {what:<16} {key}  {outcome(arrival)}"
    if _companion(arrival):
        return [click.style(line, dim=True)]
    lines = [line]
    if title:
        lines.append(INDENT + "   " + click.style(f'"{title}"', italic=True))
    return lines


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- the daemon's log

_EVENTS: dict[str, str] = {
    "declared": "declared {severity}: notifying its routes",
    "escalated": "escalated to {severity}: paging again",
    "reescalated": "back up to {severity} (not above its peak: not paged)",
    "deescalated": "down to {severity} (not paged: pages only go up)",
    "quiet": "no tier fires any more; resolves after the quiet period unless it burns again",
    "refired": "burns again within the quiet period: same episode",
    "resolved": "resolved (peaked at {severity}): sending the resolves",
    "no_data": "no data: the episode stays open",
    "stale": "no data for too long: one stale notification",
    "data_restored": "data is back",
}


def daemon_line(record: Mapping[str, Any], at: float) -> str | None:
    """A decision of the daemon (an episode event), or a warning or error; None otherwise."""
    level = str(record.get("level", "info"))
    event = str(record.get("event", ""))
    if event in _EVENTS:
        what = _EVENTS[event].format(severity=record.get("severity", "?"))
        text = f"{clock(at)}  sloguard: {record.get('slo', '?')}: {what}"
        episode = record.get("dedup_key")
        lines = click.style(text, bold=True)
        if episode and event == "declared":
            lines += "\n" + INDENT + click.style(f"episode {episode}", dim=True)
        return lines
    if record.get("msg") == SKIPPED_TICK_MESSAGE:
        return click.style(
            f"{clock(at)}  sloguard skips ticks: at this replay speed an evaluation outlasts the "
            "replayed interval (expected on a busy machine; a lower --speed avoids it)",
            dim=True,
        )
    if level in ("warning", "error", "critical"):
        return click.style(f"{clock(at)}  sloguard {level}: {record.get('msg', '')}", fg="red")
    return None


# --------------------------------------------------------------------------- the words around


def intro(speed: float) -> list[str]:
    """What is about to happen, and how to read it."""
    x = f"{speed:g}x"
    text = f"""
A web shop's Prometheus holds 31 days of traffic of four services, up to the night of
2024-03-14. sloguard replays that night from 03:00 UTC, its clock running {x} faster than
real time: `sloguard run --replay-from {iso_time(story.REPLAY_FROM)} --speed {speed:g}`.
It evaluates every SLO once per {story.INTERVAL_SECONDS} s of story time.
All times below are story times (UTC).

What the data holds, and what sloguard should do about it:
  03:02      checkout fails every request for 5 min  -> SEV1 page a minute later: PagerDuty,
                                                        an incident.io incident, Slack
  03:07      checkout recovers                       -> down to SEV2 (not paged); resolved once
                                                        its 30m window has drained and stayed
                                                        quiet for 5 min (~03:42)
  all night  search fails at 4x its error budget     -> SEV3 ticket to Opsgenie (~03:17)
  all night  catalog and login are healthy           -> nobody hears about them

Burn rate: how fast the error budget goes; 1x spends the 30-day budget in exactly 30 days.
A tier fires when both its long and its short window burn faster than its threshold.
"""
    title = click.style(f"sloguard demo: an outage at 3 a.m., replayed at {x}", bold=True)
    return [title, *text.splitlines(), ""]


@dataclass(frozen=True, slots=True)
class Places:
    """Where each piece of the demo is."""

    prometheus: str
    pagerduty: str
    webhook: str
    slack: str
    opsgenie: str
    config: Path
    work: Path
    python: Path


def where(p: Places, speed: float, *, keep: bool) -> list[str]:
    removed = "" if keep else "; removed at the end"
    text = f"""
Where the pieces listen (all on 127.0.0.1; all started and stopped by this demo):
  prometheus  {p.prometheus}
  pagerduty   {p.pagerduty:<40} SEV1/SEV2 pages
  webhook     {p.webhook:<40} incident declarations (incident.io, signed)
  slack       {p.slack:<40} status messages
  opsgenie    {p.opsgenie:<40} SEV3 tickets
  sloguard    python -m sloguard run --config {p.config}
                --replay-from {iso_time(story.REPLAY_FROM)} --speed {speed:g}
  files       {p.work}/{removed}
Look at the same data yourself, in another terminal, while it runs:
  {p.python} -m sloguard evaluate {p.work}/slos \\
      --prometheus {p.prometheus} --at 2024-03-14T03:05:00Z
Ctrl-C stops everything.
"""
    return text.splitlines()
