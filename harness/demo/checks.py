"""Did the story happen? The checks that make the demo a smoke test, and its closing summary.

Each check looks at what the receivers hold (what PagerDuty, Opsgenie, the incident platform
and Slack would show) and at the episode events the daemon logged. Exactly one incident per
episode at every receiver, each resolved when the burn is over, nothing for healthy SLOs,
nothing refused by a vendor's contract, and a clean stop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from harness.demo.story import CATALOG, CHECKOUT, LOGIN, SEARCH, clock
from harness.receivers import (
    OpsgenieReceiver,
    PagerDutyReceiver,
    Receiver,
    SlackReceiver,
    WebhookReceiver,
)

# Companion requests that find nothing to close (PagerDuty's resolve and Opsgenie's close of
# the episode's stale-data alert, which was never opened) are answered 202 and are expected.
_HARMLESS = {"accepted", "duplicate", "dropped", "accepted-not-applied"}


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    text: str
    detail: str = ""  # what was found instead; shown when the check fails


@dataclass(slots=True)
class Outcome:
    """Everything the demo saw."""

    events: list[tuple[float, Mapping[str, Any]]]  # (story time, log record with "event")
    pagerduty: PagerDutyReceiver
    opsgenie: OpsgenieReceiver
    webhook: WebhookReceiver
    slack: SlackReceiver
    daemon_exit: int | None
    daemon_problems: list[str] = field(default_factory=list)
    ended: str = "done"

    def episode(self, slo: str) -> list[tuple[float, str, str, str]]:
        """(story time, event, severity, episode id) of ``slo``, in order."""
        return [
            (at, str(r["event"]), str(r.get("severity", "")), str(r.get("dedup_key", "")))
            for at, r in self.events
            if r.get("slo") == slo
        ]

    def receivers(self) -> tuple[Receiver, ...]:
        return (self.pagerduty, self.webhook, self.slack, self.opsgenie)


def _kinds(steps: Sequence[tuple[float, str, str, str]]) -> list[str]:
    return [f"{event} {severity}" for _, event, severity, _ in steps]


def check_story(o: Outcome) -> list[Check]:
    checks = [Check(o.ended == "done", "the replay ran to the end of the story", o.ended)]
    checkout, search = o.episode(CHECKOUT), o.episode(SEARCH)
    kinds = _kinds(checkout)
    checks.append(
        Check(
            bool(kinds) and kinds[0] == "declared SEV1" and kinds[-1].startswith("resolved"),
            f"{CHECKOUT}: declared SEV1, then resolved",
            f"events: {', '.join(kinds) or 'none'}",
        )
    )
    checks.append(
        Check(
            _kinds(search) == ["declared SEV3"],
            f"{SEARCH}: declared SEV3 and still open",
            f"events: {', '.join(_kinds(search)) or 'none'}",
        )
    )
    noisy = [slo for slo in (CATALOG, LOGIN) if o.episode(slo)]
    checks.append(Check(not noisy, f"{CATALOG} and {LOGIN} stayed quiet", f"events: {noisy}"))
    checkout_id = next((e for _, _, _, e in checkout if e), "")
    search_id = next((e for _, _, _, e in search if e), "")

    pd = [(i.dedup_key, i.status, i.severities) for i in o.pagerduty.incidents]
    checks.append(
        Check(
            pd == [(checkout_id, "resolved", ["critical"])],
            f"pagerduty: one incident, for {CHECKOUT} (dedup_key {checkout_id or '?'}), "
            "critical, resolved",
            f"found {pd}",
        )
    )
    wh = [(i.key, i.status) for i in o.webhook.incidents]
    checks.append(
        Check(
            wh == [(checkout_id, "resolved")],
            f"incident webhook: one incident, for {CHECKOUT}, resolved",
            f"found {wh}",
        )
    )
    texts = [str(m.get("text", "")) for m in o.slack.messages]
    checks.append(
        Check(
            len(texts) == 2 and all(CHECKOUT in t for t in texts),
            f"slack: two messages about {CHECKOUT}, declared and resolved",
            f"found {len(texts)}: {texts}",
        )
    )
    og = [(a.alias, a.priority, a.status) for a in o.opsgenie.alerts]
    checks.append(
        Check(
            og == [(search_id, "P3", "open")],
            f"opsgenie: one P3 alert, for {SEARCH} (alias {search_id or '?'}), open",
            f"found {og}",
        )
    )
    refused = [
        f"{r.service} {a.method} {a.path}: {a.status} {a.outcome} {a.errors[:1]}"
        for r in o.receivers()
        for a in r.arrivals
        if a.outcome not in _HARMLESS
    ]
    total = sum(len(r.arrivals) for r in o.receivers())
    checks.append(
        Check(
            total > 0 and not refused,
            f"all {total} requests met the vendors' contracts (schemas, auth, signatures)",
            _listed(refused),
        )
    )
    checks.append(
        Check(
            o.daemon_exit == 0 and not o.daemon_problems,
            f"sloguard stopped on SIGTERM with exit status {o.daemon_exit}, "
            "no warnings or errors logged",
            _listed(o.daemon_problems),
        )
    )
    return checks


def _listed(items: Sequence[str]) -> str:
    return "; ".join(items[:3]) + (" ..." if len(items) > 3 else "")


def _timeline(steps: Sequence[tuple[float, str, str, str]]) -> str:
    parts = []
    for at, event, severity, _ in steps:
        word = {"quiet": "quiet", "resolved": "resolved", "deescalated": f"down to {severity}"}
        parts.append(f"{word.get(event, f'{event} {severity}')} {clock(at)[:5]}")
    if steps and steps[-1][1] == "resolved":
        minutes = (steps[-1][0] - steps[0][0]) / 60
        parts.append(f"open {minutes:.0f} min")
    elif steps:
        parts.append("still open")
    return ", ".join(parts)


def summary_lines(o: Outcome, checks: Sequence[Check], *, keep: Path | None) -> list[str]:
    lines = ["", click.style("What happened", bold=True)]
    for slo in (CHECKOUT, SEARCH, CATALOG, LOGIN):
        steps = o.episode(slo)
        lines.append(f"  {slo:<22} {_timeline(steps) if steps else 'healthy: no notifications'}")
    counts = Counter(r.service for r in o.receivers() for a in r.arrivals)
    lines.append(
        "  deliveries: "
        + ", ".join(f"{r.service} {counts[r.service]}" for r in o.receivers())
        + " requests"
    )
    lines += ["", click.style("Checks", bold=True)]
    for c in checks:
        mark = click.style("ok  ", fg="green") if c.ok else click.style("FAIL", fg="red", bold=True)
        lines.append(f"  {mark}  {c.text}")
        if c.detail and not c.ok:
            lines.append(f"        {c.detail}")
    lines.append("")
    if all(c.ok for c in checks):
        lines.append(click.style("The story happened as expected (exit 0).", fg="green"))
    else:
        lines.append(click.style("The story did not happen as expected (exit 1).", fg="red"))
    where = f"files kept in {keep}/" if keep else "temporary files removed"
    lines.append(f"Everything the demo started is stopped; {where}.")
    return lines
