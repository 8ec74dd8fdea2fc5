"""Outbox throughput: notifications per second drained from the SQLite outbox to a local
contract-enforcing receiver, with the per-key rate limit off.

    python -m bench.outbox [--notifications 2000] [--runs 3] [--baseline TREE]

Queues ``--notifications`` declarations (one episode each, as a mass outage would) in a real
state database, then times ``Deliverer.drain()`` until the outbox is empty: the delivery loop,
the real notifier (payload, HTTP, retry classification) and the receiver's validation against
the vendor's schema, all on this machine. PagerDuty's 120 events/min/routing-key limit is
switched off on both sides (the notifier is wrapped; the receiver is built without it); the
Standard Webhooks notifier has no rate limit of its own.

The receiver runs in a process of its own, as a vendor does (``--serve``), and answers with
HTTP keep-alive, as the vendors' endpoints do; the drain runs in another (``--drain``), so its
CPU seconds are sloguard's alone. ``--baseline TREE`` (a checkout of an older sloguard with
this ``bench/`` copied in) also drains with that tree's sloguard, alternating run by run
against the same receiver code, for a before/after ratio from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
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


def receiver_for(kind: str) -> Receiver:
    if kind == "pagerduty":
        return PagerDutyReceiver(routing_keys=[ROUTING_KEY], rate_limit_per_minute=None)
    return WebhookReceiver(secret=SECRET)


def serve(kind: str) -> int:
    """``--serve``: one receiver until stdin closes. Prints the URL to send to, then, for each
    ``count`` line read, how many requests it accepted and its CPU seconds so far."""
    receiver = receiver_for(kind)
    with receiver:
        if isinstance(receiver, PagerDutyReceiver):
            url = receiver.enqueue_url
        else:
            url = f"{receiver.url}/hook"
        print(json.dumps({"url": url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                accepted = sum(1 for a in receiver.arrivals if a.accepted)
                cpu = time.process_time()
                print(json.dumps({"accepted": accepted, "cpu_seconds": cpu}), flush=True)
    return 0


def drain(kind: str, url: str, count: int, concurrency: int) -> dict[str, Any]:
    """``--drain``: queue ``count`` declarations in a fresh database and drain them to ``url``;
    the wall and CPU seconds of the drain alone."""
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-outbox-") as tmp:
        store = Store.open(Path(tmp) / "state.db")
        secret = Path(tmp) / "secret"
        secret.write_text((ROUTING_KEY if kind == "pagerduty" else SECRET) + "\n")
        queue(store, "n", count)

        async def go() -> tuple[float, int]:
            async with httpx.AsyncClient(trust_env=False) as client:
                notifier: Notifier
                if kind == "pagerduty":
                    config = PagerDutyConfig(
                        name="n", type="pagerduty", url=url, routing_key_file=str(secret)
                    )
                    notifier = Unlimited(build_notifier(config, client))
                else:
                    wconfig = WebhookConfig(
                        name="n", type="webhook", url=url, secret_file=str(secret)
                    )
                    notifier = build_notifier(wconfig, client)
                return await drain_all(store, notifier, concurrency)

        cpu = time.process_time()
        seconds, delivered = asyncio.run(go())
        cpu = time.process_time() - cpu
        store.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "delivered": delivered}


def one(kind: str, count: int, concurrency: int, code: str, root: Path) -> dict[str, Any]:
    """One run: a fresh receiver process (this tree's harness) and a drain process importing
    sloguard from ``root``."""
    python, here = common.python(), common.env(common.ROOT)
    with subprocess.Popen(
        [python, "-m", "bench.outbox", "--serve", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=common.ROOT,
        env=here,
    ) as server:
        assert server.stdin is not None
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["url"]
        cmd = [python, "-m", "bench.outbox", "--drain", kind, "--url", url]
        cmd += ["--notifications", str(count), "--concurrency", str(concurrency)]
        done = subprocess.run(
            cmd, capture_output=True, text=True, cwd=root, env=common.env(root), check=False
        )
        server.stdin.write("count\n")
        server.stdin.flush()
        answer = json.loads(server.stdout.readline())
        accepted = answer["accepted"]
        server.stdin.close()
    if done.returncode != 0:
        raise RuntimeError(f"bench.outbox --drain failed: {done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = result["seconds"]
    return {
        "receiver": kind,
        "code": code,
        "notifications": count,
        "delivered": result["delivered"],
        "accepted_by_receiver": accepted,
        "seconds": seconds,
        "cpu_seconds": result["cpu_seconds"],
        "per_second": result["delivered"] / seconds if seconds else 0.0,
        "cpu_ms_per_notification": 1000 * result["cpu_seconds"] / max(result["delivered"], 1),
        "receiver_cpu_seconds": answer["cpu_seconds"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="delivery.concurrency")
    parser.add_argument("--receivers", default="pagerduty,webhook")
    parser.add_argument(
        "--baseline", type=Path, help="an older tree (with this bench/): drain with it too"
    )
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--serve", choices=["pagerduty", "webhook"], help=argparse.SUPPRESS)
    parser.add_argument("--drain", choices=["pagerduty", "webhook"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)
    if args.drain:
        print(json.dumps(drain(args.drain, args.url, args.notifications, args.concurrency)))
        return 0
    trees = [("after", common.ROOT)]
    if args.baseline:
        trees.insert(0, ("before", args.baseline))
    rows = []
    for kind in args.receivers.split(","):
        runs: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in trees}
        for _ in range(args.runs):  # alternating, so load changes hit both trees alike
            for code, root in trees:
                run = one(kind, args.notifications, args.concurrency, code, root)
                print(run, flush=True)
                runs[code].append(run)
        for code, _ in trees:
            rows.append(row(kind, code, runs[code], args))
    common.save("outbox", {"rows": rows}, args.out, module="bench.outbox", argv=argv)
    return 0


def row(
    kind: str, code: str, runs: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    return {
        "receiver": kind,
        "code": code,
        "notifications": args.notifications,
        "concurrency": args.concurrency,
        "runs": runs,
        "median_per_second": common.median([r["per_second"] for r in runs]),
        "median_cpu_ms_per_notification": common.median(
            [r["cpu_ms_per_notification"] for r in runs]
        ),
        "all_delivered": all(
            r["delivered"] == r["accepted_by_receiver"] == args.notifications for r in runs
        ),
    }


if __name__ == "__main__":
    raise SystemExit(main())
