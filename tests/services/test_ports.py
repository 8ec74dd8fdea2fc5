"""The SQLite store and every notifier implement the ports services are typed against.

The assignments to Protocol-typed names are the check: mypy (strict) fails on this module when
a class drifts from its Protocol. The calls make sure the objects are real, not just typed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from sloguard.notify import (
    OpsgenieConfig,
    PagerDutyConfig,
    SlackConfig,
    WebhookConfig,
)
from sloguard.notify.opsgenie import OpsgenieNotifier
from sloguard.notify.pagerduty import PagerDutyNotifier
from sloguard.notify.slack import SlackNotifier
from sloguard.notify.webhook import WebhookNotifier
from sloguard.ports import Notifier, Store
from sloguard.records import OutboxCounts
from sloguard.store import Store as SqliteStore


def test_the_sqlite_store_is_a_store(tmp_path: Path) -> None:
    sqlite = SqliteStore.open(tmp_path / "state.db")
    store: Store = sqlite
    try:
        assert store.counts() == OutboxCounts(pending=0, delivered=0, dead=0)
        assert store.load_states() == {}
        assert store.next_due_at() is None
    finally:
        store.close()


def test_every_notifier_is_a_notifier() -> None:
    asyncio.run(_build_every_notifier())


async def _build_every_notifier() -> None:
    async with httpx.AsyncClient() as client:
        notifiers: list[Notifier] = [
            PagerDutyNotifier(
                PagerDutyConfig(type="pagerduty", name="pd", routing_key_env="PD"),
                client,
                routing_key="a" * 32,
            ),
            OpsgenieNotifier(
                OpsgenieConfig(type="opsgenie", name="og", api_key_env="OG"), client, api_key="k"
            ),
            WebhookNotifier(
                WebhookConfig(
                    type="webhook", name="wh", url="https://hooks.example/x", preset="incident_io"
                ),
                client,
                url="https://hooks.example/x",
                secret=None,
                auth_token="t",
            ),
            SlackNotifier(
                SlackConfig(type="slack", name="sl", url_env="SLACK"),
                client,
                url="https://hooks.slack.com/services/T/B/x",
            ),
        ]
    assert [n.integration for n in notifiers] == ["pagerduty", "opsgenie", "webhook", "slack"]
    assert [n.name for n in notifiers] == ["pd", "og", "wh", "sl"]
