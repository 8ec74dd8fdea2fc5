"""The incident notifiers with the long-running daemon: ``sloguard run`` as a subprocess on a
scaled clock (``--replay-from``, ``--speed 30``) over a real Prometheus, through an outage, the
slow burn it leaves and the recovery, killed with SIGKILL while Slack holds
``conversations.create`` and started again; and a slow burn that only ever opens a ticket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness import scenarios as sc
from harness.receivers import JiraIssue
from harness.receivers.jira import DEMO_API_TOKEN
from harness.receivers.slack_web import DEMO_TOKEN
from harness.receivers.statuspage import DEMO_API_KEY
from sloguard.store import Store
from tests.support.incident_e2e import (
    COMPONENTS,
    TICKETS_AT_SEV3,
    KillAtCreate,
    Setup,
    incident_setup,
)
from tests.support.prom import Served

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
MIN = 60
HOUR = 60 * MIN
SECRETS = (DEMO_TOKEN, DEMO_API_KEY, DEMO_API_TOKEN)


@contextmanager
def daemon(setup: Setup, log: Path, start: float, speed: float) -> Iterator[subprocess.Popen[str]]:
    """``sloguard run`` replaying from ``start`` at ``speed``x; its stderr goes to ``log``.
    Killed on the way out if the test has not stopped it."""
    seen = log.stat().st_size if log.exists() else 0  # earlier daemons' lines do not count
    with log.open("a") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sloguard", "run", "--config", str(setup.config),
             "--replay-from", repr(start), "--speed", str(speed)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    try:
        until(
            lambda: b"listening on http://127.0.0.1:" in log.read_bytes()[seen:], 30, "startup", log
        )
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def until(check: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s:\n{log.read_text()[-6000:]}")


def ticking(setup: Setup, interval_seconds: int) -> None:
    setup.configure(f'interval_seconds: {interval_seconds}\nhttp: {{listen: "127.0.0.1:0"}}\n')


def replay(setup: Setup, log: Path, start: float, done: Callable[[], bool], what: str) -> None:
    """One stretch of the story at 30x, a tick every 30 s (one a second): the daemon from
    ``start`` until ``done``, then stopped with SIGTERM, as a restart would; it picks up the
    next stretch from the state database."""
    with daemon(setup, log, start, 30) as proc:
        until(done, 60, what, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


def incident_channels(setup: Setup) -> list[str]:
    return [c.name for c in setup.slack.channels if c.name.startswith("inc-")]


def marks(setup: Setup, service: str) -> list[str]:
    """The first word of each message in ``service``'s incident channel, in order."""
    named = [c for c in setup.slack.channels if c.name.startswith("inc-") and service in c.name]
    return [m.text.split(" ")[0] for c in named for m in c.messages]


def ticket(setup: Setup, slo: str) -> list[JiraIssue]:
    return [i for i in setup.jira.with_label("sloguard") if i.summary.split(" ")[1] == slo]


@pytest.fixture
def outage(incidents: Served, tmp_path: Path) -> Iterator[Setup]:
    with incident_setup(incidents, tmp_path, routes=TICKETS_AT_SEV3) as made:
        yield made


def test_the_daemon_through_an_outage_its_slow_burn_and_the_recovery(
    outage: Setup, incidents: Served, tmp_path: Path
) -> None:
    """checkout: SEV1 at the outage, eased to SEV2 5 min after it, to SEV3 (the slow burn
    of the 6 h window) 30 min after it, resolved 6 h and a quiet period after it. The daemon
    replays each turn at 30x and jumps the quiet stretches between them by restarting."""
    setup, scenario, log = outage, incidents.scenario, tmp_path / "daemon.log"
    ticking(setup, 30)
    # 1. search (burning at SEV2) is declared at the first tick; the daemon is killed while
    #    Slack holds its conversations.create, long before checkout's outage (on a loaded
    #    machine a create due a few ticks later could otherwise race the kill).
    kill = KillAtCreate(setup.slack)
    with daemon(setup, log, scenario.at(sc.OUTAGE_START - 15 * MIN), 30) as first:
        kill.watch(first)
        assert kill.wait(), "the daemon never asked Slack for a channel"
        assert first.wait(10) == -signal.SIGKILL
    setup.slack.wait_for(lambda arrivals: arrivals[0].status is not None, timeout=10)
    assert setup.slack.arrivals[0].path.endswith("conversations.create")
    assert len(incident_channels(setup)) == 1  # created in Slack, never committed

    # 2. Back a minute into the outage (the restart took that long): checkout is declared at
    #    SEV1 at once (a tick in the outage's first 50 s would see only the 6h window above 1x:
    #    SEV3), so Jira, routed at SEV3 alone, hears nothing of it yet; search's channel is
    #    found, not made again.
    component = setup.page.components[COMPONENTS["checkout"]]
    replay(
        setup, log, scenario.at(sc.OUTAGE_START + MIN),
        lambda: component.status == "major_outage", "checkout's public incident",
    )  # fmt: skip
    # 3. The outage ends; 5 min later the 5m window is clear: SEV2.
    assert setup.jira.issues == []
    replay(
        setup, log, scenario.at(sc.OUTAGE_END),
        lambda: component.status == "partial_outage", "checkout eased to SEV2",
    )  # fmt: skip
    # 4. 30 min after it the 30m window is clear: SEV3, the slow burn, and its ticket.
    replay(
        setup, log, scenario.at(sc.OUTAGE_END + 28 * MIN),
        lambda: bool(ticket(setup, "checkout-availability")), "checkout's SEV3 ticket",
    )  # fmt: skip
    # 5. 6 h after it the 6h window is clear; after the quiet period, the resolve.
    replay(
        setup, log, scenario.at(sc.OUTAGE_END + 6 * HOUR - 2 * MIN),
        lambda: bool(setup.jira.with_label("sloguard-postmortem")), "checkout's postmortem",
    )  # fmt: skip
    text = log.read_text()

    # Slack: one channel per episode; every create after the kill found its own channel.
    assert sorted(n.split("-")[2] for n in incident_channels(setup)) == ["checkout", "search"]
    creates = [a for a in setup.slack.arrivals if a.path.endswith("conversations.create")]
    assert len([a for a in creates if not a.errors]) == 2, text[-4000:]
    assert {str(a.errors) for a in creates if a.errors} <= {"['name_taken']"}
    down = ":arrow_down:"
    assert marks(setup, "checkout") == [":rotating_light:", down, down, ":white_check_mark:"]
    assert marks(setup, "search") == [":rotating_light:", down]  # eased to SEV3 at 12 h
    for channel in (c for c in setup.slack.channels if c.name.startswith("inc-")):
        assert [b["title"] for b in channel.bookmarks] == ["Runbook", "Dashboard"]
    assert len(setup.slack.channel("incidents").messages) == 2

    # Statuspage: one incident per component; checkout's opened, eased twice, resolved.
    public = {i.component_ids[0]: i for i in setup.page.incidents}
    assert len(public) == len(setup.page.incidents) == 2
    assert public[COMPONENTS["checkout"]].status == "resolved"
    assert component.history == [
        "major_outage", "partial_outage", "degraded_performance", "operational",
    ]  # fmt: skip
    assert public[COMPONENTS["search"]].status != "resolved"

    # Jira, routed at SEV3 alone: one ticket per episode, opened when it eased into SEV3;
    # checkout's resolved with its postmortem.
    (checkout,) = ticket(setup, "checkout-availability")
    (search,) = ticket(setup, "search-availability")
    assert [checkout.summary[:5], search.summary[:5]] == ["SEV3 ", "SEV3 "]
    assert "Resolved" in json.dumps(checkout.comments[-1]), checkout.comments
    (postmortem,) = setup.jira.with_label("sloguard-postmortem")
    assert postmortem.summary.startswith("Postmortem: checkout-availability SEV1")

    store = Store.open(setup.state, read_only=True)
    try:
        assert store.counts().dead == 0
    finally:
        store.close()
    assert "Traceback" not in text
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def ledger(slow_burn: Served, tmp_path: Path) -> Iterator[Setup]:
    with incident_setup(slow_burn, tmp_path, services=("ledger",)) as made:
        yield made


def test_a_slow_burn_through_the_daemon_is_one_ticket_to_its_resolve_and_nothing_public(
    ledger: Setup, slow_burn: Served, tmp_path: Path
) -> None:
    """ledger burns at 2x for two days: SEV3 (the 3d/6h tier at 1x) about a day in, resolved
    once the 6h window holds less than 2 h of the burn and a quiet period passed."""
    setup, log, scenario = ledger, tmp_path / "daemon.log", slow_burn.scenario
    # 1. From before the burn, a tick every 30 min at 7200x (4 a second), until the ticket.
    ticking(setup, 30 * MIN)
    with daemon(setup, log, scenario.at(sc.BURN2_START - 10 * MIN), 7200) as proc:
        until(lambda: bool(setup.jira.issues), 60, "the SEV3 ticket", log)
        time.sleep(3)  # a dozen more ticks of the same burn: still one ticket
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    (ticket,) = setup.jira.issues
    assert ticket.summary.startswith("SEV3 ledger-availability")
    assert ticket.labels[0] == "sloguard"

    # 2. The recovery at 30x, a tick every 30 s: the ticket hears the resolve.
    def resolved() -> bool:
        return any("Resolved" in json.dumps(c) for c in ticket.comments)

    ticking(setup, 30)
    replay(setup, log, scenario.at(sc.BURN2_END + 4 * HOUR - 2 * MIN), resolved, "the resolve")
    assert len(setup.jira.issues) == 1  # a SEV3 peak: no postmortem
    assert incident_channels(setup) == []
    assert setup.page.incidents == []
    text = log.read_text()
    assert "Traceback" not in text
    for secret in SECRETS:
        assert secret not in text
