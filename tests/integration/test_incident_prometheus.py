"""The incident after the page, end to end: ``run --once --at`` steps over a real Prometheus
through an outage (checkout, SEV1), a 10x burn (search, SEV3 then SEV2) and a recovery, into
the strict Slack Web API and Statuspage receivers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import scenarios as sc
from harness.receivers._contracts import contract_validator
from harness.receivers.jira import DEMO_API_TOKEN
from harness.receivers.slack_web import DEMO_TOKEN
from harness.receivers.statuspage import DEMO_API_KEY
from sloguard.app import open_daemon
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.store import Store
from tests.support.incident_e2e import (
    COMPONENTS,
    GROUP,
    ROLES,
    KillAtCreate,
    Setup,
    incident_setup,
)
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
MIN = 60
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(incidents: Served, tmp_path: Path) -> Iterator[Setup]:
    with incident_setup(incidents, tmp_path) as made:
        yield made


STEPS = [
    *range(sc.BURN10_START, sc.BURN10_START + 2 * 3600, 10 * MIN),
    *range(sc.OUTAGE_START - 4 * MIN, sc.OUTAGE_END + 20 * MIN, 4 * MIN),
    *range(sc.OUTAGE_END + 20 * MIN, sc.OUTAGE_END + 6 * 3600 + 21 * MIN, 30 * MIN),
    sc.OUTAGE_END + 6 * 3600 + 26 * MIN,  # checkout clear for 6 minutes: resolved
]


def test_outage_and_burn_make_one_channel_and_one_public_incident_each(
    setup: Setup, incidents: Served
) -> None:
    scenario = incidents.scenario

    async def drive() -> list[str]:
        config = load_config(setup.config)
        clock = ManualClock(scenario.at(STEPS[0]))
        lines = []
        async with open_daemon(config, clock=clock) as daemon:
            for offset in STEPS:
                at = scenario.at(offset) + 7  # off the sample grid (see promserver)
                clock.set(at)
                report = await daemon.once(at)
                assert report.failures == ()
                lines += [
                    f"{s.key} {e.kind.value} {e.severity.name}" + (" +page" if e.notify else "")
                    for s in report.slos
                    for e in s.events
                ]
        return lines

    events = asyncio.run(drive())
    assert "checkout-availability declared SEV1 +page" in events
    assert "search-availability escalated SEV2 +page" in events
    assert events[-1] == "checkout-availability resolved SEV1 +page"

    # Slack: exactly one channel per SEV1/SEV2 episode, the team in it, the story in order.
    channels = {c.name.split("-")[2]: c for c in setup.slack.channels if c.name.startswith("inc-")}
    assert sorted(channels) == ["checkout", "search"]
    assert len([c for c in setup.slack.channels if c.name.startswith("inc-")]) == 2
    checkout, search = channels["checkout"], channels["search"]
    for channel in (checkout, search):
        assert set(channel.members) >= {*ROLES.values(), *GROUP[1]}
        assert [b["title"] for b in channel.bookmarks] == ["Runbook", "Dashboard"]
        assert "Incident Commander: <@U012AB3CD>" in channel.messages[0].text
        assert "kubectl rollout undo" in channel.messages[0].text
    assert checkout.messages[0].text.startswith(":rotating_light: *SEV1 declared*")
    assert checkout.messages[-1].text.startswith(":white_check_mark: *Resolved*")
    assert checkout.topic.startswith("Resolved (peak SEV1)")
    # The burn eases after the outage: each change of severity is a message, in order, and
    # the topic follows it (search, still burning, is back at SEV3).
    assert [m.text.split(" —")[0] for m in checkout.messages[1:-1]] == [
        ":arrow_down: *De-escalated to SEV2* (from SEV1)",
        ":arrow_down: *De-escalated to SEV3* (from SEV2)",
    ]
    assert search.messages[-1].text.startswith(":arrow_down: *De-escalated to SEV3* (from SEV2)")
    assert search.topic.startswith("SEV3 · search-availability")
    announcements = [m.text for m in setup.slack.channel("incidents").messages]
    assert len(announcements) == 2
    assert f"<#{checkout.id}>" in "".join(announcements)

    # Statuspage: checkout opened and resolved, back to operational; search still open.
    by_component = {i.component_ids[0]: i for i in setup.page.incidents}
    assert len(setup.page.incidents) == 2 == len(by_component)
    public_checkout = by_component[COMPONENTS["checkout"]]
    assert public_checkout.status == "resolved"
    assert setup.page.components[COMPONENTS["checkout"]].history == [
        "major_outage",
        "partial_outage",  # de-escalated: the component follows the severity
        "degraded_performance",
        "operational",
    ]
    assert by_component[COMPONENTS["search"]].status == "identified"
    assert setup.page.components[COMPONENTS["search"]].history == [
        "partial_outage",
        "degraded_performance",
    ]

    # Jira: one ticket per episode (search opened as SEV3 and got the escalation as a comment),
    # and after checkout's SEV1 resolve its postmortem, due, assigned, in valid ADF.
    tickets = setup.jira.with_label("sloguard")
    assert sorted(t.summary.replace(":", "").split(" ")[:2] for t in tickets) == [
        ["SEV1", "checkout-availability"],
        ["SEV3", "search-availability"],
    ]
    search_ticket = next(t for t in tickets if "search" in t.summary)
    assert len(search_ticket.comments) == 2  # escalated to SEV2, de-escalated to SEV3
    (postmortem,) = setup.jira.with_label("sloguard-postmortem")
    assert postmortem.summary.startswith("Postmortem: checkout-availability SEV1 on ")
    assert postmortem.assignee == "5b10ac8d82e05b22cc7d4ef5"
    assert postmortem.duedate is not None
    adf = contract_validator("jira", "adf.schema.json")
    assert [e.message for e in adf.iter_errors(postmortem.description)] == []
    assert "Timeline" in str(postmortem.description)

    store = Store.open(setup.state, read_only=True)
    assert store.counts().pending == 0
    assert store.counts().dead == 0
    store.close()
    blob = setup.state.read_bytes().decode("latin-1")
    for secret in (DEMO_TOKEN, DEMO_API_KEY, DEMO_API_TOKEN):
        assert secret not in blob


def _run_once(setup: Setup, at: float) -> subprocess.Popen[str]:
    args = ["run", "--config", str(setup.config), "--once", "--at", repr(at)]
    return subprocess.Popen(
        [sys.executable, "-m", "sloguard", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_sigkill_between_create_and_commit_never_makes_two_channels(
    setup: Setup, incidents: Served
) -> None:
    scenario = incidents.scenario
    outage = scenario.at(sc.OUTAGE_START + 4 * MIN) + 7
    kill = KillAtCreate(setup.slack)
    first = _run_once(setup, outage)
    kill.watch(first)
    assert kill.wait(), "the daemon never asked Slack for a channel"
    outputs = list(first.communicate(timeout=10))
    assert first.returncode == -signal.SIGKILL
    setup.slack.wait_for(lambda arrivals: bool(arrivals) and arrivals[0].status is not None)
    # Made at Slack, never committed: one channel per episode whose create was in flight (the
    # daemon delivers episodes side by side, so one or two).
    made = [c.name for c in setup.slack.channels if c.name.startswith("inc-")]
    assert 1 <= len(made) == len(set(made)) <= 2
    after = sc.OUTAGE_END + 6 * 3600
    for offset in (sc.OUTAGE_START + 4 * MIN, after + 20 * MIN, after + 26 * MIN):
        proc = _run_once(setup, scenario.at(offset) + 7)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs += [out, err]
    channels = [c for c in setup.slack.channels if c.name.startswith("inc-")]
    assert sorted(c.name.split("-")[2] for c in channels) == ["checkout", "search"]  # one each
    creates = [a for a in setup.slack.arrivals if a.path.endswith("conversations.create")]
    # Two channels made; every create after the kill found its channel taken by itself.
    assert len([a for a in creates if not a.errors]) == 2
    assert {str(a.errors) for a in creates if a.errors} == {"['name_taken']"}
    for channel in channels:
        assert [b["title"] for b in channel.bookmarks] == ["Runbook", "Dashboard"]
    (checkout,) = [c for c in channels if "checkout" in c.name]
    texts = [m.text.split(" ")[0] for m in checkout.messages]
    assert texts == [":rotating_light:", ":white_check_mark:"]
    assert len(setup.slack.channel("incidents").messages) == 2
    public = {i.component_ids[0]: i.status for i in setup.page.incidents}
    assert public[COMPONENTS["checkout"]] == "resolved"
    blob = "\n".join(outputs) + setup.state.read_bytes().decode("latin-1")
    assert DEMO_TOKEN not in blob
    assert DEMO_API_KEY not in blob
