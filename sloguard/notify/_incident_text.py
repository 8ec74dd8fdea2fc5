"""What the incident channel says: its topic, the first message, one message per transition,
and the announcement. Pure functions of a :class:`~sloguard.records.Notification`.

Slack ``mrkdwn``: ``*bold*``, ``<@U123>`` mentions a user, ``<!subteam^S123>`` a user group,
``<url|text>`` a link. Limits from ``harness/contracts/slack-web/``: topic 250 characters;
message ``text`` is kept by Slack up to 40,000 characters (cut here well below).
"""

from __future__ import annotations

from sloguard.durations import human_duration, iso_time
from sloguard.notify._text import budget_phrase, facts, headline, tier_burn, truncate
from sloguard.records import Kind, Notification

TOPIC_MAX = 250
TEXT_MAX = 12_000
ROLE_NAMES = (
    ("commander", "Incident Commander"),
    ("tech_lead", "Technical Lead"),
    ("communications", "Communications Lead"),
)
RUNBOOK_SECTIONS = (
    ("diagnostics", "Diagnose"),
    ("mitigations", "Mitigate"),
    ("escalation", "Escalate"),
)


def mention(ref: str) -> str:
    """A user (``U``/``W``) or a user group (``S``) as Slack renders a mention."""
    return f"<!subteam^{ref}>" if ref.startswith("S") else f"<@{ref}>"


def topic(n: Notification) -> str:
    """``SEV1 · checkout-availability · 71% of the budget left · 2 Mar 14:05 UTC``."""
    parts = [n.severity if n.kind is not Kind.RESOLVED else f"Resolved (peak {n.severity})"]
    parts.append(n.slo)
    if n.error_budget_remaining is not None:
        parts.append(f"{max(n.error_budget_remaining, 0.0):.0%} of the budget left")
    parts.append(f"since {iso_time(n.at)}" if n.kind is Kind.DECLARED else iso_time(n.at))
    return truncate(" · ".join(parts), TOPIC_MAX)


def _roles(n: Notification) -> list[str]:
    lines = [f"• {label}: {mention(n.roles[key])}" for key, label in ROLE_NAMES if key in n.roles]
    if not lines:
        return ["• No roles set in the SLO (spec.incident.roles): take Incident Commander here."]
    return lines


def _burn(n: Notification) -> str:
    burn = tier_burn(n)
    what = f"*{n.slo}* ({n.service}, objective {n.objective_percent:g}% over {n.period})"
    if burn is None:
        return f"{what}: no burn rate known."
    spent = budget_phrase(n)
    return f"{what} is burning its error budget {burn.rate:.1f}x over {burn.window}" + (
        f"; {spent}." if spent else "."
    )


def _runbook(n: Notification) -> list[str]:
    lines: list[str] = []
    for key, label in RUNBOOK_SECTIONS:
        steps = list(n.runbook.get(key, ()))
        if steps:
            lines.append(f"*{label}*")
            lines += [f"{i}. {step}" for i, step in enumerate(steps, 1)]
    if n.runbook_url:
        lines.append(f"Full runbook: <{n.runbook_url}|{n.runbook_url}>")
    return lines or ["No runbook steps in the SLO (spec.runbook)."]


def first_message(n: Notification) -> str:
    """Who holds which role, what burns how fast, the runbook, the bridge."""
    lines = [f":rotating_light: *{n.severity} declared* — {n.slo}", "", "*Roles*"]
    lines += _roles(n)
    lines += ["", "*What burns*", _burn(n)]
    if n.description:
        lines.append(n.description)
    lines += ["", *_runbook(n)]
    lines.append("")
    if n.bridge_url:
        lines.append(f"*Video bridge*: <{n.bridge_url}|join>")
    if n.dashboard_url:
        lines.append(f"*Dashboard*: <{n.dashboard_url}|open>")
    lines.append(f"Episode `{n.episode_id}` · declared {iso_time(n.at)} by sloguard")
    return truncate("\n".join(lines), TEXT_MAX)


def transition_message(n: Notification) -> str:
    """The message an escalation, a de-escalation, stale data or the resolve posts."""
    if n.kind is Kind.ESCALATED:
        return truncate(f":arrow_double_up: *Escalated to {n.severity}* — {headline(n)}", TEXT_MAX)
    if n.kind is Kind.DEESCALATED:
        was = f" (from {n.previous_severity})" if n.previous_severity else ""
        return truncate(
            f":arrow_down: *De-escalated to {n.severity}*{was} — {headline(n)}", TEXT_MAX
        )
    if n.kind is Kind.STALE:
        return truncate(
            f":grey_question: *Evaluation stale* — {n.summary}\n"
            "The burn can be neither confirmed nor resolved until Prometheus answers again.",
            TEXT_MAX,
        )
    if n.kind is Kind.RESOLVED:
        return resolve_message(n)
    return first_message(n)


def resolve_message(n: Notification) -> str:
    """The impact and how to get the postmortem draft."""
    f = facts(n)
    lines = [f":white_check_mark: *Resolved* — {n.summary}", "", "*Impact*"]
    lines.append(f"• Peak severity: {n.severity}")
    if "error_budget_remaining" in f:
        lines.append(f"• Error budget left: {f['error_budget_remaining']} of the {n.period}")
    lines += [
        "",
        "*Postmortem*: the draft (timeline, SLO impact, runbook used) is ready:",
        f"`sloguard postmortem {n.episode_id} --config <daemon config>`",
        "Fill in contributing factors and action items as "
        "`- [ ] <action> (owner: <Jira account id>, due: YYYY-MM-DD)`.",
    ]
    return truncate("\n".join(lines), TEXT_MAX)


def announcement(n: Notification, channel_id: str) -> str:
    """The short link in the announce channel."""
    lasted = ""
    if n.time_to_exhaustion_seconds is not None and n.time_to_exhaustion_seconds > 0:
        lasted = f", budget exhausted in {human_duration(n.time_to_exhaustion_seconds)}"
    return truncate(
        f":rotating_light: {n.severity} {n.slo} ({n.service}){lasted}: join <#{channel_id}>",
        TEXT_MAX,
    )
