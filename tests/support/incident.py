"""Notifications of one incident episode with its people and runbook, for the incident
notifiers' tests (Slack app, Statuspage, Jira)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from typing import Any, TypeVar

from sloguard.records import Kind, Notification

T = TypeVar("T")

EPISODE = "sloguard-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
ROLES = {"commander": "U012AB3CD", "tech_lead": "U045EF6GH", "communications": "U078IJ9KL"}
GROUP = "S0PAYMENTS"
GROUP_MEMBERS = ("U0PAY1", "U0PAY2", "U012AB3CD")
RUNBOOK = {
    "diagnostics": ["kubectl logs -l app=checkout -n prod --since=10m"],
    "mitigations": [
        "Roll back: kubectl rollout undo deploy/checkout -n prod",
        "Disable flag new-cart",
    ],
    "escalation": ["Payments DB on-call: PagerDuty service PDB123"],
}
BRIDGE = "https://meet.example.com/payments-incident"
DECLARED_AT = 1_710_770_700.0  # 2024-03-18T14:05:00Z


def incident_note(kind: Kind = Kind.DECLARED, **overrides: Any) -> Notification:
    base = Notification(
        kind=kind,
        episode_id=EPISODE,
        event_id=f"{EPISODE}:{kind.value}",
        slo="checkout-availability",
        service="checkout",
        severity="SEV2",
        previous_severity=None,
        at=DECLARED_AT,
        summary="checkout-availability SEV2: burning 7.1x the error budget",
        objective_percent=99.9,
        period="30d",
        burn_rates={"30m": 7.4, "6h": 7.1},
        thresholds={"SEV1 1h/5m": 14.4, "SEV2 6h/30m": 6.0},
        error_budget_remaining=0.82,
        time_to_exhaustion_seconds=86400.0 * 3,
        owner={"team": "payments", "jira_account_id": "5b10ac8d82e05b22cc7d4ef5"},
        runbook_url="https://runbooks.example.com/checkout",
        dashboard_url="https://grafana.example.com/d/slo?var-slo=checkout-availability",
        runbook=RUNBOOK,
        roles=ROLES,
        invite=(GROUP,),
        bridge_url=BRIDGE,
        incident_channel="#inc-20240318-checkout-availability-1a2b3c",
        status_component={"component_id": "8kbf7d35c070", "name": "Checkout"},
    )
    return dataclasses.replace(base, **overrides)


def incident_episode() -> list[Notification]:
    """declared SEV2 -> escalated SEV1 -> stale -> resolved."""
    return [
        incident_note(Kind.DECLARED),
        incident_note(
            Kind.ESCALATED,
            severity="SEV1",
            previous_severity="SEV2",
            at=DECLARED_AT + 600,
            burn_rates={"5m": 30.0, "1h": 16.0},
            thresholds={"SEV1 1h/5m": 14.4},
            summary="checkout-availability SEV1: burning 16.0x the error budget",
        ),
        incident_note(
            Kind.STALE,
            severity="SEV1",
            at=DECLARED_AT + 1500,
            summary="checkout-availability: evaluation stale for 15m (Prometheus unreachable)",
        ),
        incident_note(
            Kind.RESOLVED,
            severity="SEV1",
            at=DECLARED_AT + 5400,
            error_budget_remaining=0.64,
            time_to_exhaustion_seconds=None,
            summary="checkout-availability resolved: no burn-rate alert firing for 15m",
            postmortem_markdown="# checkout-availability\n\nPeak SEV1, 64% budget left.",
        ),
    ]


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def deescalating_episode() -> list[Notification]:
    """declared SEV1 -> de-escalated SEV2 -> resolved (peak SEV1)."""
    return [
        incident_note(
            Kind.DECLARED, severity="SEV1", summary="checkout-availability SEV1: burning 16.0x"
        ),
        incident_note(
            Kind.DEESCALATED,
            severity="SEV2",
            previous_severity="SEV1",
            at=DECLARED_AT + 900,
            summary="checkout-availability SEV2: burning 6.5x the error budget",
        ),
        incident_note(
            Kind.RESOLVED,
            severity="SEV1",
            at=DECLARED_AT + 5400,
            summary="checkout-availability resolved: no burn-rate alert firing for 15m",
        ),
    ]
