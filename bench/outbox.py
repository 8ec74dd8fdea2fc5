"""Outbox throughput: notifications per second drained from the SQLite outbox to a local
contract-enforcing receiver, with the per-key rate limit off.

    python -m bench.outbox [--notifications 2000] [--runs 3]

Queues ``--notifications`` declarations (one episode each, as a mass outage would) in a real
state database, then times ``Deliverer.drain()`` until the outbox is empty: the delivery loop,
the real notifier (payload, HTTP, retry classification) and the receiver's validation against
the vendor's schema, all on this machine. PagerDuty's 120 events/min/routing-key limit is
switched off on both sides (the notifier is wrapped; the receiver is built without it); the
Standard Webhooks notifier has no rate limit of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import common
from harness.receivers import PagerDutyReceiver, Receiver, WebhookReceiver
from sloguard.clock import SystemClock
from sloguard.delivery import Deliverer
from sloguard.lifecycle import EpisodeState
from sloguard.notify import build_notifier
from sloguard.notify.pagerduty import PagerDutyConfig
from sloguard.notify.webhook import WebhookConfig
from sloguard.ports import Notifier
from sloguard.records import Kind, Notification, OutboxRow
from sloguard.store import Store

ROUTING_KEY = "OutboxBenchRoutingKey00000000000"
SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # public test vector


class Unlimited:
    """A notifier with its per-key rate limit switched off."""

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner
        self.name = inner.name
        self.integration = inner.integration

    @property
    def rate_limit_key(self) -> str | None:
        return None

    @property
    def rate_limit_per_minute(self) -> int | None:
        return None

    async def send(self, notification: Notification) -> None:
        await self.inner.send(notification)


def notification(i: int, now: float) -> Notification:
    return Notification(
        kind=Kind.DECLARED,
        episode_id=f"sloguard-bench-{i:06d}",
        event_id=f"sloguard-bench-{i:06d}-declared",
        slo=f"svc{i:05d}-availability",
        service=f"svc{i:05d}",
        severity="SEV1",
        previous_severity=None,
        at=now,
        summary=f"svc{i:05d}-availability burns its error budget 60x (SEV1)",
        objective_percent=99.9,
        period="30d",
        burn_rates={"5m": 1000.0, "1h": 60.0},
        thresholds={"SEV1 1h/5m": 14.4},
        error_budget_remaining=0.9,
        time_to_exhaustion_seconds=36000.0,
        labels={"team": "payments"},
        runbook_url="https://runbooks.example.com/svc",
    )


def queue(store: Store, notifier: str, count: int) -> None:
    now = time.time()
    for i in range(count):
        n = notification(i, now)
        row = OutboxRow(
            notifier, n.episode_id, n.event_id, n.kind.value, n.slo, n.severity, n.to_json()
        )
        store.commit(EpisodeState(slo=n.slo), [], [row], at=now)


async def drain_all(store: Store, notifier: Notifier, concurrency: int) -> tuple[float, int]:
    deliverer = Deliverer(store, {notifier.name: notifier}, SystemClock(), concurrency=concurrency)
    started = time.perf_counter()
    delivered = 0
    while store.counts().pending:
        delivered += (await deliverer.drain()).delivered
    return time.perf_counter() - started, delivered


def one(kind: str, count: int, concurrency: int) -> dict[str, Any]:
    receiver: Receiver
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-outbox-") as tmp:
        store = Store.open(Path(tmp) / "state.db")
        if kind == "pagerduty":
            receiver = PagerDutyReceiver(routing_keys=[ROUTING_KEY], rate_limit_per_minute=None)
        else:
            receiver = WebhookReceiver(secret=SECRET)
        (Path(tmp) / "secret").write_text((ROUTING_KEY if kind == "pagerduty" else SECRET) + "\n")
        with receiver:
            queue(store, "n", count)

            async def go() -> tuple[float, int]:
                async with httpx.AsyncClient(trust_env=False) as client:
                    notifier: Notifier
                    if kind == "pagerduty":
                        assert isinstance(receiver, PagerDutyReceiver)
                        config = PagerDutyConfig(
                            name="n",
                            type="pagerduty",
                            url=receiver.enqueue_url,
                            routing_key_file=str(Path(tmp) / "secret"),
                        )
                        notifier = Unlimited(build_notifier(config, client))
                    else:
                        wconfig = WebhookConfig(
                            name="n",
                            type="webhook",
                            url=f"{receiver.url}/hook",
                            secret_file=str(Path(tmp) / "secret"),
                        )
                        notifier = build_notifier(wconfig, client)
                    return await drain_all(store, notifier, concurrency)

            seconds, delivered = asyncio.run(go())
            accepted = sum(1 for a in receiver.arrivals if a.accepted)
        store.close()
    return {
        "receiver": kind,
        "notifications": count,
        "delivered": delivered,
        "accepted_by_receiver": accepted,
        "seconds": seconds,
        "per_second": delivered / seconds if seconds else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="delivery.concurrency")
    parser.add_argument("--receivers", default="pagerduty,webhook")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    rows = []
    for kind in args.receivers.split(","):
        runs = [one(kind, args.notifications, args.concurrency) for _ in range(args.runs)]
        for r in runs:
            print(r, flush=True)
        rows.append(
            {
                "receiver": kind,
                "notifications": args.notifications,
                "concurrency": args.concurrency,
                "runs": runs,
                "median_per_second": common.median([r["per_second"] for r in runs]),
                "all_delivered": all(
                    r["delivered"] == r["accepted_by_receiver"] == args.notifications for r in runs
                ),
            }
        )
    common.save("outbox", {"rows": rows}, args.out, module="bench.outbox", argv=argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
