"""`sloguard run --once --at T`, step by step over backfilled data in a real Prometheus, paging
the contract-enforcing receivers (PagerDuty, Opsgenie, Standard Webhooks)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import scenarios as sc
from harness.receivers import OpsgenieReceiver, PagerDutyReceiver, WebhookReceiver
from sloguard.app import open_daemon
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.lifecycle import episode_id
from sloguard.store import Store
from tests.support.e2e import (
    SECRETS,
    notifiers_and_routes,
    slos_secrets_and_receivers,
)
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
REPO = Path(__file__).resolve().parents[2]
MIN = 60

# Distinctive fake secrets, so that a leak is easy to find.


@dataclass
class Setup:
    config: Path
    pd: PagerDutyReceiver
    og: OpsgenieReceiver
    hook: WebhookReceiver
    served: Served
    state: Path


@pytest.fixture
def setup(incidents: Served, tmp_path: Path) -> Iterator[Setup]:
    with slos_secrets_and_receivers(incidents, tmp_path) as (pd, og, hook):
        config = tmp_path / "sloguard.yaml"
        config.write_text(
            f"""\
prometheus: {{url: "{incidents.url}"}}
slo_paths: [slos/]
state_path: state/sloguard.db
{notifiers_and_routes(pd, og, hook)}delivery: {{attempt_timeout_seconds: 5}}
"""
        )
        yield Setup(config, pd, og, hook, incidents, tmp_path / "state" / "sloguard.db")


def test_episodes_step_by_step_through_every_notifier(setup: Setup) -> None:
    scenario = setup.served.scenario
    search_steps = range(sc.BURN10_START, sc.BURN10_START + 2 * 3600, 5 * MIN)
    # The 6h short window of the slow SEV3 tier (3d/6h at 1x) holds the 20-minute outage for
    # six hours: the episode steps down SEV1 -> SEV2 -> SEV3 (not paged), then resolves.
    checkout_steps = [
        *range(sc.OUTAGE_START - 4 * MIN, sc.OUTAGE_END + 20 * MIN, 2 * MIN),
        *range(sc.OUTAGE_END + 20 * MIN, sc.OUTAGE_END + 6 * 3600 + 21 * MIN, 30 * MIN),
        sc.OUTAGE_END + 6 * 3600 + 26 * MIN,  # clear for 6 minutes: resolved
    ]
    down_from, down_until = sc.OUTAGE_START - 2 * MIN, sc.OUTAGE_START + 10 * MIN

    async def drive() -> list[str]:
        config = load_config(setup.config)
        clock = ManualClock(scenario.at(search_steps[0]))
        lines = []
        async with open_daemon(config, clock=clock) as daemon:
            for offset in [*search_steps, *checkout_steps]:
                at = scenario.at(offset) + 7  # off the sample grid (see promserver)
                clock.set(at)
                if offset == down_from:
                    setup.hook.down()  # the incident platform is down for 10 minutes
                if offset == down_until:
                    setup.hook.up()
                report = await daemon.once(at)
                assert report.failures == ()
                lines += [
                    f"{s.key} {e.kind.value} {e.severity.name}" + (" +page" if e.notify else "")
                    for s in report.slos
                    for e in s.events
                ]
        return lines

    events = asyncio.run(drive())
    assert events == [
        "search-availability declared SEV3 +page",
        "search-availability escalated SEV2 +page",
        "checkout-availability declared SEV1 +page",
        "checkout-availability deescalated SEV2",
        "checkout-availability deescalated SEV3",
        "search-availability deescalated SEV3",
        "checkout-availability quiet OK",
        "checkout-availability resolved SEV1 +page",
    ]

    # PagerDuty: one incident per episode; search opened at its escalation, checkout resolved.
    by_key = {i.dedup_key: i for i in setup.pd.incidents}
    assert len(setup.pd.incidents) == 2 == len(by_key)
    checkout = next(i for i in setup.pd.incidents if "checkout" in i.summary)
    search = next(i for i in setup.pd.incidents if "search" in i.summary)
    assert (checkout.status, checkout.severities) == ("resolved", ["critical"])
    assert (search.status, search.severities) == ("triggered", ["error"])
    # Opsgenie got the SEV3 ticket only (SEV2 is not routed there), still open: search burns on.
    assert [(a.priority, a.status) for a in setup.og.alerts] == [("P3", "open")]
    assert setup.og.alerts[0].alias == search.dedup_key
    # The webhook receiver was down when checkout was declared, and still got all, in order.
    kinds = [(e["data"]["slo"], e["type"]) for e in setup.hook.events]
    assert kinds == [
        ("search-availability", "incident.declared"),
        ("checkout-availability", "incident.declared"),
        ("checkout-availability", "incident.resolved"),
    ]
    assert [i.status for i in setup.hook.incidents] == ["open", "resolved"]
    store = Store.open(setup.state, read_only=True)
    assert store.counts().pending == 0
    assert store.counts().dead == 0
    store.close()


def run_cli(setup: Setup, at: float, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sloguard",
            "run",
            "--config",
            str(setup.config),
            "--once",
            "--at",
            repr(at),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_sigkill_during_delivery_loses_nothing_and_doubles_nothing(setup: Setup) -> None:
    scenario = setup.served.scenario
    outage = scenario.at(sc.OUTAGE_START + 2 * MIN) + 7
    setup.pd.delay(30.0, times=1)  # the first send hangs: we kill the daemon inside it
    first = run_cli(setup, outage)
    deadline = time.monotonic() + 30
    while not setup.pd.arrivals and time.monotonic() < deadline:
        if first.poll() is not None:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)  # reap it and close its pipes
    assert first.returncode == -signal.SIGKILL  # it died inside the send, as intended
    assert setup.pd.arrivals  # the receiver had the request in hand
    out_all: list[str] = []
    after = sc.OUTAGE_END + 6 * 3600  # the slow SEV3 tier's 6h window has let go of the outage
    for offset in (sc.OUTAGE_START + 2 * MIN, after + 20 * MIN, after + 26 * MIN):
        proc = run_cli(setup, scenario.at(offset) + 7)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        out_all += [out, err]
    checkout_episode = next(i.dedup_key for i in setup.pd.incidents if "checkout" in i.summary)
    assert len(setup.pd.incidents_for(checkout_episode)) == 1  # one incident, never two
    (incident,) = setup.pd.incidents_for(checkout_episode)
    assert incident.status == "resolved"
    assert len([i for i in setup.hook.incidents if i.key == checkout_episode]) == 1
    assert episode_id("checkout-availability", outage) == checkout_episode
    # The restart at the same instant applies nothing twice; it only delivers what was pending.
    assert "checkout-availability  SEV1     firing" in out_all[0]
    assert "declared" not in out_all[0]
    assert "outbox: 0 pending, 0 dead letters" in out_all[0]
    # No secret in any output, log line or the state database.
    blob = "\n".join(out_all) + setup.state.read_bytes().decode("latin-1")
    for secret in SECRETS:
        assert secret not in blob


def test_config_errors_exit_2_with_a_located_message(setup: Setup) -> None:
    setup.config.write_text(setup.config.read_text().replace("notifiers: [og]", "notifiers: [ops]"))
    proc = subprocess.run(
        [sys.executable, "-m", "sloguard", "run", "--config", str(setup.config), "--once"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{setup.config}:10:" in proc.stderr
    assert "no notifier named 'ops'; configured notifiers: incidents, og, pd" in proc.stderr
    assert "Traceback" not in proc.stderr
