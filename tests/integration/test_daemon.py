"""`sloguard run` as a long-running subprocess against a real Prometheus and the contract receivers.

The daemon replays the backfilled incidents scenario with ``--replay-from`` (a scaled clock), so
a whole 12-hour episode takes seconds of real time while the schedule, the lifecycle, the
outbox, the HTTP endpoint and the signals are the production ones.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import scenarios as sc
from harness.receivers import OpsgenieReceiver, PagerDutyReceiver, WebhookReceiver
from harness.tcpgate import TcpGate
from sloguard.store import Store
from tests.support.e2e import (
    SECRETS,
    notifiers_and_routes,
    slo_yaml,
    slos_secrets_and_receivers,
)
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
REPO = Path(__file__).resolve().parents[2]
MIN = 60


@dataclass
class World:
    dir: Path
    config: Path
    served: Served
    pd: PagerDutyReceiver
    og: OpsgenieReceiver
    hook: WebhookReceiver

    def write_config(self, interval_seconds: float, extra: str = "") -> None:
        self.config.write_text(
            f"""\
prometheus: {{url: "{self.served.url}"}}
slo_paths: [slos/]
state_path: state/sloguard.db
interval_seconds: {interval_seconds}
{notifiers_and_routes(self.pd, self.og, self.hook)}delivery: {{attempt_timeout_seconds: 20}}
http: {{listen: "127.0.0.1:0"}}
{extra}"""
        )


@pytest.fixture
def world(incidents: Served, tmp_path: Path) -> Iterator[World]:
    with slos_secrets_and_receivers(incidents, tmp_path) as (pd, og, hook):
        yield World(tmp_path, tmp_path / "sloguard.yaml", incidents, pd, og, hook)


@dataclass
class Daemon:
    """A ``sloguard run`` subprocess, its stderr collected line by line, its HTTP port."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    port: int = 0
    reader: threading.Thread | None = None

    def close(self) -> None:
        """Make sure the process is gone and its pipe closed (also after a failed test)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.reader is not None:
            self.reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    @classmethod
    def start(cls, world: World, *args: str) -> Daemon:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sloguard", "run", "--config", str(world.config), *args],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        daemon = cls(proc)
        daemon.reader = threading.Thread(target=daemon._read, daemon=True)
        daemon.reader.start()
        line = daemon.wait_for_line(r"listening on http://127\.0\.0\.1:\d+", 30)
        daemon.port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        return daemon

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader catch the last lines
                raise AssertionError(f"sloguard exited {self.proc.returncode}:\n{self.log}")
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s:\n{self.log}")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=5)

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        text = self.get("/metrics").text
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def metric(self, name: str, **labels: str) -> float | None:
        return self.metrics().get((name, frozenset(labels.items())))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        start = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - start


def eventually(check: Callable[[], bool], timeout: float, what: str, daemon: Daemon) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s:\n{daemon.log[-6000:]}")


@pytest.mark.slow
def test_a_whole_day_of_incidents_replayed_through_the_daemon(world: World) -> None:
    scenario = world.served.scenario
    world.write_config(interval_seconds=300)
    start = scenario.at(sc.BURN10_START - 5 * MIN)
    daemon = Daemon.start(world, "--replay-from", repr(start), "--speed", "1200")
    try:

        def checkout_resolved() -> bool:
            return any("checkout" in i.summary and not i.open for i in world.pd.incidents)

        eventually(checkout_resolved, 90, "the checkout incident resolved at PagerDuty", daemon)
        assert daemon.get("/readyz").status_code == 200
        m = daemon.metrics()
        assert m[("sloguard_prometheus_up", frozenset())] == 1.0
        sent = ("sloguard_notifications_total", {("integration", "pagerduty"), ("outcome", "sent")})
        assert m[(sent[0], frozenset(sent[1]))] >= 3  # search trigger, checkout trigger + resolve
        assert m[("sloguard_evaluations_total", frozenset({("outcome", "success")}))] > 20
        slos = daemon.get("/api/v1/slos").json()
        assert {s["slo"] for s in slos["slos"]} == {"checkout-availability", "search-availability"}
        # search still burns: its episode is open and listed
        assert [e["slo"] for e in slos["episodes"]] == ["search-availability"]
        code, took = daemon.stop()
    finally:
        daemon.close()
    assert code == 0, daemon.log[-4000:]
    assert took < 10
    # PagerDuty: search opened at SEV2 (escalated from SEV3, which went to Opsgenie only);
    # checkout declared SEV1 and resolved. One incident per episode.
    search = [i for i in world.pd.incidents if "search" in i.summary]
    checkout = [i for i in world.pd.incidents if "checkout" in i.summary]
    log = daemon.log[-6000:]
    assert [(i.status, i.severities) for i in checkout] == [("resolved", ["critical"])], log
    assert [(i.status, i.severities) for i in search] == [("triggered", ["error"])], log
    # Opsgenie (SEV3): search's ticket stays open. Where the jittered ticks land decides whether
    # checkout reads SEV3 (its 3d/6h tier) for one tick before SEV1: if it did, its ticket must
    # have been closed with the episode; either way, one alert per episode.
    og: dict[str, list[tuple[str, str]]] = {"search": [], "checkout": []}
    for a in world.og.alerts:
        og["search" if "search" in a.message else "checkout"].append((a.priority, a.status))
    assert og["search"] == [("P3", "open")], log
    assert og["checkout"] in ([], [("P3", "closed")]), log
    kinds = [(e["data"]["slo"], e["type"]) for e in world.hook.events]
    assert kinds == [
        ("search-availability", "incident.declared"),
        ("checkout-availability", "incident.declared"),
        ("checkout-availability", "incident.resolved"),
    ], log
    assert "Traceback" not in daemon.log
    for secret in SECRETS:
        assert secret not in daemon.log


def test_reload_good_and_broken_config_then_sigterm_with_a_delivery_in_flight(
    world: World,
) -> None:
    scenario = world.served.scenario
    world.write_config(interval_seconds=2)
    at = scenario.at(sc.OUTAGE_START + 5 * MIN)  # checkout is at SEV1 from the first tick
    world.pd.delay(30.0)  # every page hangs in PagerDuty's hands until the restart
    daemon = Daemon.start(world, "--replay-from", repr(at))
    try:
        eventually(lambda: daemon.get("/readyz").status_code == 200, 15, "ready", daemon)
        labels = {"slo": "checkout-availability", "service": "checkout"}
        assert daemon.metric("sloguard_slo_severity", **labels) == 3.0
        assert daemon.metric("sloguard_config_reload_success") == 1.0

        # A broken edit is rejected with the validate-style located error; the old one runs.
        world.write_config(interval_seconds=0)
        eventually(
            lambda: daemon.metric("sloguard_config_reload_success") == 0.0, 15, "reject", daemon
        )
        located = daemon.wait_for_line(rf"{re.escape(str(world.config))}:4:\d+: error:", 5)
        assert "interval_seconds" in located
        before = daemon.metric("sloguard_evaluations_total", outcome="success") or 0
        eventually(
            lambda: (daemon.metric("sloguard_evaluations_total", outcome="success") or 0) > before,
            10,
            "ticks going on after the rejected reload",
            daemon,
        )
        # A good edit plus SIGHUP reloads at once.
        world.write_config(interval_seconds=3)
        daemon.proc.send_signal(signal.SIGHUP)
        eventually(
            lambda: daemon.metric("sloguard_config_reload_success") == 1.0, 5, "reload", daemon
        )
        assert daemon.metric("sloguard_config_reloads_total", outcome="success") == 2.0

        # SIGTERM while the PagerDuty pages still hang: out within 10 s, the rows stay queued.
        assert not world.pd.incidents  # held back by the receiver's delay
        code, took = daemon.stop()
    finally:
        daemon.close()
    assert code == 0, daemon.log[-4000:]
    assert took < 10
    assert "Traceback" not in daemon.log
    store = Store.open(world.dir / "state" / "sloguard.db", read_only=True)
    pending = store.counts().pending
    store.close()
    assert pending >= 1

    # After a restart the queued pages go out: one incident per episode, not two.
    world.pd.clear_faults()
    again = Daemon.start(world, "--replay-from", repr(at + 30))
    try:
        eventually(lambda: len(world.pd.incidents) >= 2, 20, "the pages after restart", again)
        time.sleep(0.5)  # give a duplicate the chance to show up
        code, _ = again.stop()
    finally:
        again.close()
    assert code == 0
    assert sorted("checkout" in i.summary for i in world.pd.incidents) == [False, True]
    assert all(i.open for i in world.pd.incidents)


def test_prometheus_gone_mid_episode_then_back(world: World) -> None:
    scenario = world.served.scenario
    gate = TcpGate(int(world.served.url.rsplit(":", 1)[1]))
    world.write_config(interval_seconds=30, extra="lifecycle: {stale_after_seconds: 300}\n")
    text = world.config.read_text().replace(world.served.url, f"http://127.0.0.1:{gate.port}")
    world.config.write_text(text)
    at = scenario.at(sc.OUTAGE_START + 2 * MIN)
    daemon = Daemon.start(world, "--replay-from", repr(at), "--speed", "60")
    labels = {"slo": "checkout-availability", "service": "checkout"}
    try:
        eventually(lambda: len(world.pd.incidents) == 2, 15, "both pages", daemon)
        assert daemon.metric("sloguard_prometheus_up") == 1.0
        gate.down()
        eventually(lambda: daemon.metric("sloguard_prometheus_up") == 0.0, 10, "up=0", daemon)
        assert daemon.metric("sloguard_slo_severity", **labels) == -1.0
        assert daemon.metric("sloguard_slo_no_data", **labels) == 1.0
        # No resolve while blind; after stale_after_seconds one stale warning per episode.
        stale = [("checkout-availability", "slo.evaluation_stale")]

        def stale_arrived() -> bool:
            kinds = [(e["data"]["slo"], e["type"]) for e in world.hook.events]
            return stale[0] in kinds

        eventually(stale_arrived, 20, "the stale warning", daemon)
        assert all(i.open for i in world.pd.incidents if not i.dedup_key.endswith(":stale"))
        assert daemon.get("/readyz").status_code == 503
        gate.up()
        eventually(lambda: daemon.metric("sloguard_prometheus_up") == 1.0, 10, "up=1", daemon)
        eventually(
            lambda: daemon.metric("sloguard_slo_severity", **labels) == 3.0, 10, "SEV1", daemon
        )
        eventually(lambda: daemon.get("/readyz").status_code == 200, 10, "ready again", daemon)
        code, _ = daemon.stop()
    finally:
        daemon.close()
        gate.down()
    assert code == 0
    resolved = [e for e in world.hook.events if e["type"] == "incident.resolved"]
    assert resolved == []  # losing Prometheus never resolved anything


def _configmap(root: Path, version: str, content: str) -> None:
    """What the kubelet does on a ConfigMap update: a new ``..<version>`` directory, then an
    atomic swap of the ``..data`` symlink; the visible file is a symlink through ``..data``."""
    real = root / f"..{version}"
    real.mkdir()
    (real / "slos.yaml").write_text(content)
    (root / "..data_tmp").symlink_to(real.name)
    os.replace(root / "..data_tmp", root / "..data")
    if not (root / "slos.yaml").is_symlink():
        (root / "slos.yaml").symlink_to("..data/slos.yaml")


def test_configmap_swap_reloads_and_drops_the_removed_slos_series(world: World) -> None:
    scenario = world.served.scenario
    slos = world.dir / "slos"
    (slos / "slos.yaml").unlink()
    both = slo_yaml(scenario.job)
    _configmap(slos, "2026_11_28_10_00_00.1", both)
    world.write_config(interval_seconds=30)
    at = scenario.at(sc.OUTAGE_START - 30 * MIN)
    daemon = Daemon.start(world, "--replay-from", repr(at), "--speed", "60")
    search = {"slo": "search-availability", "service": "search"}
    try:
        eventually(
            lambda: daemon.metric("sloguard_slo_severity", **search) == 2.0, 15, "search", daemon
        )
        _configmap(slos, "2026_11_28_10_05_00.2", both.split("---\n")[0])  # checkout only
        eventually(
            lambda: daemon.metric("sloguard_slo_severity", **search) is None, 15, "drop", daemon
        )
        assert daemon.metric("sloguard_config_reloads_total", outcome="success") == 2.0
        assert not any(("slo", "search-availability") in labels for _, labels in daemon.metrics())
        state = daemon.get("/api/v1/slos").json()
        assert [s["slo"] for s in state["slos"]] == ["checkout-availability"]
        # Its episode stays open (and listed) until it can be closed; nothing was resolved.
        assert "search-availability" in [e["slo"] for e in state["episodes"]]
        code, took = daemon.stop(signal.SIGINT)
    finally:
        daemon.close()
    assert code == 0
    assert took < 10
    assert "configuration reloaded" in daemon.log
