"""The incident notifiers with the long-running daemon: ``sloguard run`` as a subprocess on a
scaled clock (``--replay-from``, ``--speed``) over a real Prometheus, killed with SIGKILL while
Slack holds ``conversations.create`` and started again; and a slow burn that only ever opens a
ticket."""

from __future__ import annotations

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
from harness.receivers.jira import DEMO_API_TOKEN
from harness.receivers.slack_web import DEMO_TOKEN
from harness.receivers.statuspage import DEMO_API_KEY
from sloguard.store import Store
from tests.support.incident_e2e import COMPONENTS, KillAtCreate, Setup, incident_setup
from tests.support.prom import Served

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
MIN = 60
SECRETS = (DEMO_TOKEN, DEMO_API_KEY, DEMO_API_TOKEN)


@contextmanager
def daemon(setup: Setup, log: Path, start: float, speed: float) -> Iterator[subprocess.Popen[str]]:
    """``sloguard run`` replaying from ``start`` at ``speed``x; its stderr goes to ``log``.
    Killed on the way out if the test has not stopped it."""
    with log.open("a") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sloguard", "run", "--config", str(setup.config),
             "--replay-from", repr(start), "--speed", str(speed)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    try:
        until(lambda: "listening on http://127.0.0.1:" in log.read_text(), 30, "startup", log)
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


def incident_channels(setup: Setup) -> list[str]:
    return [c.name for c in setup.slack.channels if c.name.startswith("inc-")]


@pytest.fixture
def outage(incidents: Served, tmp_path: Path) -> Iterator[Setup]:
    with incident_setup(incidents, tmp_path) as made:
        yield made


def test_the_daemon_killed_mid_create_then_restarted_tells_each_episode_once(
    outage: Setup, incidents: Served, tmp_path: Path
) -> None:
    setup, scenario, log = outage, incidents.scenario, tmp_path / "daemon.log"
    # 1. At 30x, a tick a second: search (burning at SEV2) is declared at the first tick and
    #    killed while Slack holds its conversations.create.
    ticking(setup, 30)
    kill = KillAtCreate(setup.slack)
    with daemon(setup, log, scenario.at(sc.OUTAGE_START - 2 * MIN), 30) as first:
        kill.watch(first)
        assert kill.wait(), "the daemon never asked Slack for a channel"
        assert first.wait(10) == -signal.SIGKILL
    setup.slack.wait_for(lambda arrivals: arrivals[0].status is not None, timeout=10)
    assert setup.slack.arrivals[0].path.endswith("conversations.create")
    assert len(incident_channels(setup)) == 1  # created in Slack, never committed

    # 2. Restarted at 30x: the outage is declared, search's channel found, not made again.
    def checkout_open() -> bool:
        return setup.page.components[COMPONENTS["checkout"]].status == "major_outage"

    with daemon(setup, log, scenario.at(sc.OUTAGE_START), 30) as second:
        until(checkout_open, 60, "checkout's public incident", log)
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0

    # 3. On at 1200x (a tick every 5 minutes) through the recovery, until checkout resolves.
    def checkout_resolved() -> bool:
        return setup.page.components[COMPONENTS["checkout"]].status == "operational"

    ticking(setup, 300)
    with daemon(setup, log, scenario.at(sc.OUTAGE_START + 20 * MIN), 1200) as third:
        until(checkout_resolved, 120, "checkout's public incident resolved", log)
        until(lambda: bool(setup.jira.with_label("sloguard-postmortem")), 30, "postmortem", log)
        third.send_signal(signal.SIGTERM)
        assert third.wait(15) == 0
    text = log.read_text()

    # Slack: one channel per episode; every create after the kill found its own channel.
    assert sorted(n.split("-")[2] for n in incident_channels(setup)) == ["checkout", "search"]
    creates = [a for a in setup.slack.arrivals if a.path.endswith("conversations.create")]
    assert len([a for a in creates if not a.errors]) == 2, text[-4000:]
    assert {str(a.errors) for a in creates if a.errors} <= {"['name_taken']"}
    (checkout,) = [
        c for c in setup.slack.channels if c.name.startswith("inc-") and "checkout" in c.name
    ]
    marks = [m.text.split(" ")[0] for m in checkout.messages]
    assert (marks[0], marks[-1]) == (":rotating_light:", ":white_check_mark:"), marks
    assert set(marks[1:-1]) == {":arrow_down:"}, marks  # the burn eased before it ended
    for channel in (c for c in setup.slack.channels if c.name.startswith("inc-")):
        assert [b["title"] for b in channel.bookmarks] == ["Runbook", "Dashboard"]
        assert len([m for m in channel.messages if m.text.startswith(":rotating_light:")]) == 1
    assert len(setup.slack.channel("incidents").messages) == 2

    # Statuspage: one incident per component, checkout opened, eased, resolved.
    public = {i.component_ids[0]: i for i in setup.page.incidents}
    assert len(public) == len(setup.page.incidents) == 2
    assert public[COMPONENTS["checkout"]].status == "resolved"
    history = setup.page.components[COMPONENTS["checkout"]].history
    assert (history[0], history[-1]) == ("major_outage", "operational"), history
    assert public[COMPONENTS["search"]].status != "resolved"

    # Jira: one ticket per episode, and checkout's postmortem.
    tickets = setup.jira.with_label("sloguard")
    assert sorted(t.summary.split(" ")[1] for t in tickets) == [
        "checkout-availability", "search-availability",
    ]  # fmt: skip
    assert len(setup.jira.with_label("sloguard-postmortem")) == 1

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


def test_a_slow_burn_through_the_daemon_is_one_ticket_and_nothing_public(
    ledger: Setup, slow_burn: Served, tmp_path: Path
) -> None:
    setup, log = ledger, tmp_path / "daemon.log"
    ticking(setup, 300)
    start = slow_burn.scenario.at(sc.BURN2_START - 10 * MIN)
    with daemon(setup, log, start, 1200) as proc:
        until(lambda: bool(setup.jira.issues), 90, "the SEV3 ticket", log)
        time.sleep(3)  # a dozen more ticks of the same burn: still one ticket
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    (ticket,) = setup.jira.issues
    assert ticket.summary.startswith("SEV3 ledger-availability")
    assert ticket.labels[0] == "sloguard"
    assert incident_channels(setup) == []
    assert setup.page.incidents == []
    text = log.read_text()
    assert "Traceback" not in text
    for secret in SECRETS:
        assert secret not in text
