"""Three `sloguard run` replicas on one PostgreSQL through a real outage, replayed at 30x: the
shard holder is SIGKILLed, the next one is SIGSTOPped past its lease and woken, PostgreSQL is
crash-restarted. PagerDuty's contract receiver must see the outage's episode declared once and
resolved once, no trigger doubled, nothing out of order. The SLOs have only the fast-burn
tier (1h/5m), so the episode resolves a few scenario minutes after the outage (the slow-burn
tiers would keep it open for days of scenario time).
The takeover times are printed (and written down in docs/reliability.md)."""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness import scenarios as sc
from harness.pgserver import PostgresServer
from harness.receivers import PagerDutyReceiver
from tests.support.prom import Served

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
KEY = "HaRoutingKey0123456789abcdefABCD"
LEASE = 15.0
SPEED = 30


def slo(job: str, service: str) -> str:
    sel = f'job="{job}",service="{service}"'
    return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata: {{name: {service}-availability}}
spec:
  service: {service}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
  alerting:
    tiers: [{{severity: SEV1, long: 1h, short: 5m, budget_percent: 2}}]
"""


@dataclass
class Replica:
    """One ``sloguard run`` process; its stderr goes to a file read for log lines."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def seen(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in self.lines())

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.proc.pid, sig)

    def get(self, path: str) -> httpx.Response:
        line = next(x for x in self.lines() if "listening on http://" in x)
        port = re.search(r"127\.0\.0\.1:(\d+)", line).group(1)  # type: ignore[union-attr]
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)


def eventually(check: Callable[[], bool], timeout: float, what: str, logs: list[Replica]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {r.name}\n" + "\n".join(r.lines()[-40:]) for r in logs)
    raise AssertionError(f"{what} not within {timeout}s\n{tails}")


@pytest.fixture
def pd() -> Iterator[PagerDutyReceiver]:
    with PagerDutyReceiver(routing_keys=[KEY]) as receiver:
        yield receiver


def holder(replicas: list[Replica], alive: list[Replica]) -> Replica:
    """The replica that logged the last takeover or acquisition of shard 0, among ``alive``."""
    best: tuple[float, Replica] | None = None
    for r in alive:
        for line in r.lines():
            if re.search(r"shard 0 (acquired|takeover)", line):
                stamp = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
                stamp += int(line[20:23]) / 1000
                if best is None or stamp >= best[0]:
                    best = (stamp, r)
    assert best is not None, "nobody holds shard 0"
    return best[1]


def test_three_replicas_page_once_through_kill_stop_and_a_database_restart(
    incidents: Served, postgres: PostgresServer, pd: PagerDutyReceiver, tmp_path: Path
) -> None:
    served = incidents
    url = postgres.fresh_database("ha_faults")
    (tmp_path / "slos").mkdir()
    job = served.scenario.job
    (tmp_path / "slos" / "slos.yaml").write_text(
        slo(job, "checkout") + "---\n" + slo(job, "search")
    )
    (tmp_path / "pd").write_text(KEY)
    config = tmp_path / "sloguard.yaml"
    config.write_text(
        f"""\
prometheus: {{url: "{served.url}"}}
slo_paths: [slos/]
state_url: {url}
ha: {{shards: 1, lease_seconds: {LEASE}}}
interval_seconds: 10
lifecycle: {{quiet_period_seconds: 120}}
notifiers:
  - {{name: pd, type: pagerduty, routing_key_file: pd, url: "{pd.enqueue_url}"}}
routes:
  - {{match: {{severity: [SEV1, SEV2, SEV3]}}, notifiers: [pd]}}
http: {{listen: "127.0.0.1:0"}}
"""
    )
    start = served.scenario.at(sc.OUTAGE_START - 5 * 60)
    replicas: list[Replica] = []
    for name in ("a", "b", "c"):
        log = tmp_path / f"{name}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sloguard", "run", "--config", str(config),
                 "--instance-id", name, "--replay-from", repr(start), "--speed", str(SPEED)],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )  # fmt: skip
        replicas.append(Replica(name, proc, log))
    alive = list(replicas)
    takeovers: list[float] = []
    try:
        eventually(lambda: any(r.seen("shard 0 acquired") for r in replicas), 30, "a holder", alive)
        eventually(lambda: len(pd.incidents) >= 1, 60, "the checkout page", alive)
        # The standbys are ready, and say they hold no shard; the holder holds one.
        first = holder(replicas, alive)
        for r in alive:
            ready = r.get("/readyz")
            held = "sloguard_shards_held 1.0" if r is first else "sloguard_shards_held 0.0"
            assert held in r.get("/metrics").text
            assert ready.status_code == 200, ready.text
            assert ("holds no shard" in ready.json()["reason"]) == (r is not first)

        # 1. SIGKILL the holder mid-outage: another replica takes over within the lease.
        first.signal(signal.SIGKILL)
        killed_at = time.monotonic()
        alive.remove(first)
        eventually(
            lambda: any(r.seen("shard 0 takeover") for r in alive), LEASE + 10, "takeover", alive
        )
        takeovers.append(time.monotonic() - killed_at)

        # 2. SIGSTOP the new holder past its lease, then wake it: it must not send or commit.
        second = holder(replicas, alive)
        second.signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        third = next(r for r in alive if r is not second)
        before = len(third.lines())
        eventually(
            lambda: any("shard 0 takeover" in x for x in third.lines()[before:]),
            LEASE + 10,
            "takeover from a paused holder",
            alive,
        )
        takeovers.append(time.monotonic() - stopped_at)
        second.signal(signal.SIGCONT)
        eventually(lambda: second.seen("shard 0 lost"), 10, "the woken replica lost it", alive)

        # 3. PostgreSQL crash-restarted: the replicas reconnect and carry on, and the episode
        #    resolves through whichever replica holds the shard by then.
        postgres.stop("immediate")
        time.sleep(2)
        postgres.start()

        def resolved() -> bool:
            return bool(pd.incidents) and all(not i.open for i in pd.incidents)

        eventually(resolved, 120, "the outage's episode resolved", alive)
        time.sleep(3)  # a few more ticks: nothing may follow the resolve
    finally:
        for r in replicas:
            if r.proc.poll() is None:
                r.signal(signal.SIGCONT)
                r.proc.terminate()
        for r in replicas:
            try:
                r.proc.wait(15)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait()
    keys = [i.dedup_key for i in pd.incidents]
    assert len(keys) == len(set(keys)), f"an episode declared twice: {keys}"
    ranks = {"info": 0, "warning": 1, "error": 2, "critical": 3}
    assert len(keys) == 1, f"only the checkout outage pages (search burns 10x < 14.4x): {keys}"
    for incident in pd.incidents:
        actions = [e["event_action"] for e in incident.events]
        assert actions[-1] == "resolve", actions
        assert actions.count("resolve") == 1, f"resolved twice: {actions}"
        sev = [ranks[s] for s in incident.severities]
        assert sev == sorted(set(sev)), f"a trigger doubled or out of order: {incident.severities}"
    print(
        f"takeover seconds: median {statistics.median(takeovers):.1f}, "
        f"worst {max(takeovers):.1f} (kill {takeovers[0]:.1f}, stop {takeovers[1]:.1f}; "
        f"lease {LEASE:g} s)"
    )
