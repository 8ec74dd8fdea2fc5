"""Shared helpers for the notifier tests: sample notifications, secrets, an event loop runner."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx

from sloguard.records import Kind, Notification

T = TypeVar("T")

# Distinctive fake secrets, so a leak is easy to grep for.
ROUTING_KEY = "R0utingKeyLeakCanary0123456789ab"
GENIE_KEY = "genie-LeakCanary-5f1c2d3e"
WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # test-vectors.json
BEARER = "bearer-LeakCanary-77aa"
SLACK_PATH = "/services/T0LEAK/B0LEAK/SlackLeakCanary0123456789"


def notification(kind: Kind = Kind.DECLARED, **overrides: Any) -> Notification:
    base = Notification(
        kind=kind,
        episode_id="checkout-availability-20231114T221320Z",
        event_id=f"checkout-availability-20231114T221320Z-{kind.value}",
        slo="checkout-availability",
        service="checkout",
        severity="SEV1",
        previous_severity=None,
        at=1700000000.0,
        summary="",
        objective_percent=99.9,
        period="30d",
        burn_rates={"5m": 15.1, "1h": 14.6, "6h": 3.2, "30m": 9.0},
        thresholds={"SEV1 1h/5m": 14.4, "SEV2 6h/30m": 6.0, "SEV3 1d/2h": 3.0},
        error_budget_remaining=0.71,
        time_to_exhaustion_seconds=7200.0,
        labels={"tier": "1"},
        owner={"team": "payments"},
        runbook_url="https://runbooks.example.com/checkout",
        dashboard_url="https://grafana.example.com/d/slo?var-slo=checkout-availability",
        description="",
        postmortem_markdown="",
    )
    return dataclasses.replace(base, **overrides)


def episode() -> list[Notification]:
    """declared SEV2 -> escalated SEV1 -> stale -> resolved, as the engine would emit them."""
    return [
        notification(Kind.DECLARED, severity="SEV2"),
        notification(Kind.ESCALATED, severity="SEV1", previous_severity="SEV2"),
        notification(Kind.STALE, severity="SEV1", summary="no data for 15m"),
        notification(
            Kind.RESOLVED,
            severity="SEV1",
            error_budget_remaining=0.64,
            time_to_exhaustion_seconds=None,
            postmortem_markdown="# checkout-availability\n\nPeak SEV1, 64% budget left.",
        ),
    ]


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


async def send_all(notifier: Any, notifications: list[Notification]) -> None:
    for n in notifications:
        await notifier.send(n)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient()
