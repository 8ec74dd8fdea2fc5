"""Text every notifier shares: the one-line headline an engineer acts on, facts, truncation.

Pure functions of a :class:`~sloguard.records.Notification`; no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from sloguard.burn import burn_rate_text
from sloguard.durations import human_duration, iso_time, seconds_or_none
from sloguard.records import Kind, Notification

ELLIPSIS = "…"
STALE_SUFFIX = ":stale"
_THRESHOLD_KEY = re.compile(r"^(SEV[123])\s+(\S+?)/(\S+)$")


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut is marked with an ellipsis so a reader knows."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def bounded_key(key: str, limit: int) -> str:
    """A dedup key of at most ``limit`` characters. Truncating could make two episodes share a
    key, so an over-long key keeps its head and gets a hash of the whole instead."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: limit - 17]}~{digest}"


def budget_line_key(n: Notification) -> str:
    """The alert key of one line of an SLO key's budget (``budget:<slo>:<line>``): a pager's
    budget alert opens when the budget falls through the line and closes when it climbs back
    above it, the two events sharing the key while the other lines keep their own."""
    line = n.threshold_percent if n.threshold_percent is not None else 0.0
    return f"{n.episode_id}:{line:g}"


def alert_key(n: Notification, limit: int) -> str:
    """The pager-side key of ``n``'s alert (PagerDuty ``dedup_key``, Opsgenie ``alias``, an
    incident webhook's dedup key), at most ``limit`` characters: the episode id, so a repeat
    or an escalation never opens a second alert; the episode's stale alert its own
    (:func:`stale_key`), so resolving it never closes the page; each line of a budget its own
    (:func:`budget_line_key`)."""
    if n.kind.budget:
        return bounded_key(budget_line_key(n), limit)
    if n.kind is Kind.STALE:
        return stale_key(n.episode_id, limit)
    return bounded_key(n.episode_id, limit)


def stale_key(episode_id: str, limit: int) -> str:
    """The key of an episode's stale alert, closed together with the episode."""
    return bounded_key(episode_id + STALE_SUFFIX, limit)


def _fmt_percent(value: float) -> str:
    return f"{value:.1f}%" if abs(value) < 10 else f"{value:.0f}%"


@dataclass(frozen=True, slots=True)
class Burn:
    """The burn that made this severity: long window, its burn rate and the tier's factor."""

    window: str
    rate: float
    factor: float | None
    budget_spent_percent: float | None  # of the whole period's budget, spent within `window`


def tier_burn(n: Notification) -> Burn | None:
    """The long-window burn of the tier that made the notification's severity (of several
    tiers of that severity, one whose both windows burn over its factor), else the worst
    known burn rate. None when no burn rate is known (e.g. a stale evaluation)."""
    period = _period_seconds(n)
    candidates: list[tuple[bool, Burn]] = []
    for key, factor in n.thresholds.items():
        match = _THRESHOLD_KEY.match(key)
        if not match or match.group(1) != n.severity:
            continue
        long_window, short_window = match.group(2), match.group(3)
        rate = n.burn_rates.get(long_window)
        if rate is None or not math.isfinite(rate):
            continue
        short = n.burn_rates.get(short_window)
        fires = rate > factor and short is not None and short > factor
        candidates.append(
            (fires, Burn(long_window, rate, factor, _spent(rate, long_window, period)))
        )
    if candidates:
        return next((b for fires, b in candidates if fires), candidates[0][1])
    known = [(w, r) for w, r in n.burn_rates.items() if r is not None and math.isfinite(r)]
    if not known:
        return None
    window, rate = max(known, key=lambda item: item[1])
    return Burn(window, rate, None, _spent(rate, window, period))


def _period_seconds(n: Notification) -> float | None:
    """The period the budget is a share of: the length the SLO gave at the event's instant, or
    for a notification without it the period's text when that is a duration (``30d``)."""
    if n.period_seconds is not None:
        return n.period_seconds
    return seconds_or_none(n.period)


def _spent(rate: float, window: str, period: float | None) -> float | None:
    seconds = seconds_or_none(window)
    if seconds is None or not period:
        return None
    return rate * seconds / period * 100.0


def budget_phrase(n: Notification) -> str:
    """``budget exhausted in 2h, 71% left`` or ``budget exhausted`` or ``''``."""
    parts = []
    remaining = n.error_budget_remaining
    if remaining is not None and remaining <= 0:
        return "error budget exhausted"
    tte = n.time_to_exhaustion_seconds
    if tte is not None and math.isfinite(tte) and tte >= 0:
        parts.append(f"budget exhausted in {human_duration(tte)}")
    if remaining is not None:
        parts.append(f"{_fmt_percent(remaining * 100)} left")
    return ", ".join(parts)


def headline(n: Notification) -> str:
    """The one line an on-call engineer reads first: what burns, how fast, what it costs.

    ``SEV1 checkout-availability burning 14.6x, 2.0% budget gone in 1h, budget exhausted in
    2h, 71% left``. Falls back to the engine's own summary when no burn rate is known.
    """
    if n.kind.budget:  # the budget policy's own sentence (sloguard.budget.budget_summary)
        return n.summary or f"{n.slo}: {n.kind.value.replace('.', ' ').replace('_', ' ')}"
    budget = budget_phrase(n)
    if n.kind is Kind.RESOLVED:
        text = f"Resolved: {n.slo} is no longer burning (peaked at {n.severity})"
        return f"{text}, {budget}" if budget else text
    if n.kind is Kind.STALE:
        text = f"Stale: {n.slo} cannot be evaluated while its {n.severity} episode is open"
        return f"{text} ({n.summary})" if n.summary else text
    prefix = n.severity
    if n.kind is Kind.ESCALATED and n.previous_severity:
        prefix = f"{n.previous_severity}→{n.severity}"
    burn = tier_burn(n)
    if burn is None:
        return f"{prefix} {n.slo}: {n.summary}" if n.summary else f"{prefix} {n.slo} burning"
    now = current_burn(n)
    first = f"{prefix} {n.slo} burning {burn_rate_text(burn.rate)}"
    # The time to exhaustion runs at the current (shortest-window) rate. When that differs
    # much from the tier's long-window rate quoted first, say both, or the line contradicts
    # itself ("burning 21x ... exhausted in 1h" with 47 % of a 30-day budget left).
    differs = (
        now is not None
        and now[0] != burn.window
        and not (burn.rate / 1.5 <= now[1] <= burn.rate * 1.5)
    )
    if now is not None and differs:
        first += f" over {burn.window} ({burn_rate_text(now[1])} over {now[0]})"
    parts = [first]
    if burn.budget_spent_percent is not None:
        parts.append(f"{_fmt_percent(burn.budget_spent_percent)} budget gone in {burn.window}")
    if budget and now is not None and differs and budget.startswith("budget exhausted in"):
        head, sep, tail = budget.partition(", ")
        budget = f"{head} at the {now[0]} rate{sep}{tail}"
    if budget:
        parts.append(budget)
    return ", ".join(parts)


def current_burn(n: Notification) -> tuple[str, float] | None:
    """The shortest window with a known burn rate: the rate the time to exhaustion uses."""
    known = [
        (seconds, window, rate)
        for window, rate in n.burn_rates.items()
        if rate is not None
        and math.isfinite(rate)
        and (seconds := seconds_or_none(window)) is not None
    ]
    if not known:
        return None
    _, window, rate = min(known)
    return window, rate


def facts(n: Notification) -> dict[str, str]:
    """Flat, human-readable facts for key/value renderings (Opsgenie details, Slack fields)."""
    out: dict[str, str] = {
        "slo": n.slo,
        "service": n.service,
        "severity": n.severity,
        "objective": f"{n.objective_percent:g}% over {n.period}",
    }
    # Where to join, before the numbers: whoever is paged can go there at once.
    if n.incident_channel:
        out["incident_channel"] = n.incident_channel
    if n.bridge_url:
        out["bridge"] = n.bridge_url
    if n.previous_severity:
        out["previous_severity"] = n.previous_severity
    for window, rate in n.burn_rates.items():
        out[f"burn_rate_{window}"] = "no data" if rate is None else burn_rate_text(rate)
    for key, factor in n.thresholds.items():
        out[f"threshold {key}"] = f"{factor:g}x"
    if n.threshold_percent is not None:
        out["budget_line"] = f"{n.threshold_percent:g}% left"
    if n.error_budget_remaining is not None:
        out["error_budget_remaining"] = _fmt_percent(n.error_budget_remaining * 100)
    tte = n.time_to_exhaustion_seconds
    if tte is not None and math.isfinite(tte):
        out["budget_exhausted_in"] = human_duration(tte)
    for key, value in n.owner.items():
        out[f"owner_{key}"] = value
    for key, value in n.labels.items():
        out[f"label_{key}"] = value
    if n.runbook_url:
        out["runbook"] = n.runbook_url
    if n.dashboard_url:
        out["dashboard"] = n.dashboard_url
    for section, steps in n.runbook.items():
        out[f"runbook_{section}"] = "\n".join(steps)
    out["episode"] = n.episode_id
    out["evaluated_at"] = iso_time(n.at)
    return out


def details_markdown(n: Notification) -> str:
    """A few lines of Markdown for description fields: the headline, facts and links."""
    lines = [headline(n), ""]
    if n.description:
        lines += [n.description, ""]
    for key, value in facts(n).items():
        if key not in ("runbook", "dashboard"):
            lines.append(f"- **{key}**: {value}")
    if n.runbook_url:
        lines.append(f"- Runbook: {n.runbook_url}")
    if n.dashboard_url:
        lines.append(f"- Dashboard: {n.dashboard_url}")
    return "\n".join(lines)
