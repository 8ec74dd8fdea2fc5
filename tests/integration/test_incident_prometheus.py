"""The incident after the page, end to end: ``run --once --at`` steps over a real Prometheus
through an outage (checkout, SEV1), a 10x burn (search, SEV3 then SEV2) and a recovery, into
the strict Slack Web API and Statuspage receivers."""

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
from harness.receivers import JiraReceiver, SlackWebReceiver, StatuspageReceiver
from harness.receivers._contracts import contract_validator
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from harness.receivers.slack_web import DEMO_TOKEN
from harness.receivers.statuspage import DEMO_API_KEY, DEMO_PAGE_ID
from sloguard.app import open_daemon
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.store import Store
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
MIN = 60
REPO = Path(__file__).resolve().parents[2]
COMPONENTS = {"checkout": "8kbf7d35c070", "search": "p31zjtct2jer"}
ROLES = {"commander": "U012AB3CD", "tech_lead": "U045EF6GH", "communications": "U078IJ9KL"}
GROUP = ("S0PAYMENTS", ("U0PAY1", "U0PAY2"))


def slo_yaml(job: str) -> str:
    def one(service: str) -> str:
        sel = f'job="{job}",service="{service}"'
        return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {service}-availability
spec:
  service: {service}
  objective: 99.9
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
  runbook_url: https://runbooks.example.com/{service}
  dashboard_url: https://grafana.example.com/d/slo?var-slo={service}
  runbook:
    diagnostics: ["kubectl logs -l app={service} -n prod --since=10m"]
    mitigations: ["Roll back: kubectl rollout undo deploy/{service} -n prod"]
    escalation: ["Payments DB on-call: PagerDuty service PDB123"]
  incident:
    roles:
      commander: {ROLES["commander"]}
      tech_lead: {ROLES["tech_lead"]}
      communications: {ROLES["communications"]}
    invite: [{GROUP[0]}]
    bridge_url: https://meet.example.com/{service}-incident
  status_page: {{component_id: "{COMPONENTS[service]}", name: "{service.title()}"}}
  owner: {{team: payments, jira_account_id: "5b10ac8d82e05b22cc7d4ef5"}}
"""

    return one("checkout") + "---\n" + one("search")


@dataclass
class Setup:
    config: Path
    slack: SlackWebReceiver
    page: StatuspageReceiver
    jira: JiraReceiver
    state: Path


@pytest.fixture
def setup(incidents: Served, tmp_path: Path) -> Iterator[Setup]:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "slos.yaml").write_text(slo_yaml(incidents.scenario.job))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "slack").write_text(DEMO_TOKEN + "\n")
    (tmp_path / "secrets" / "statuspage").write_text(DEMO_API_KEY + "\n")
    (tmp_path / "secrets" / "jira").write_text(DEMO_API_TOKEN + "\n")
    components = {cid: svc.title() for svc, cid in COMPONENTS.items()}
    with (
        SlackWebReceiver(usergroups={GROUP[0]: GROUP[1]}) as slack,
        StatuspageReceiver(components=components) as page,
        JiraReceiver(projects=["OPS"]) as jira,
    ):
        announce = slack.workspace.create({"name": "incidents"})["channel"]["id"]
        config = tmp_path / "sloguard.yaml"
        config.write_text(
            f"""\
prometheus: {{url: "{incidents.url}"}}
slo_paths: [slos/]
state_path: state/sloguard.db
notifiers:
  - name: war-room
    type: slack_app
    token_file: secrets/slack
    url: "{slack.api_url}"
    announce_channel: {announce}
  - name: public
    type: statuspage
    api_key_file: secrets/statuspage
    page_id: {DEMO_PAGE_ID}
    url: "{page.api_url}"
  - name: tracker
    type: jira
    url: "{jira.url}"
    email: {DEMO_EMAIL}
    api_token_file: secrets/jira
    project: OPS
    postmortem: {{due_days: 5}}
routes:
  - {{match: {{severity: [SEV1, SEV2]}}, notifiers: [war-room, public, tracker]}}
  - {{match: {{severity: [SEV3]}}, notifiers: [tracker]}}
delivery: {{attempt_timeout_seconds: 5}}
"""
        )
        yield Setup(config, slack, page, jira, tmp_path / "state" / "sloguard.db")


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
    assert search.topic.startswith("SEV2 · search-availability")
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
        "operational",
    ]
    assert by_component[COMPONENTS["search"]].status == "investigating"
    assert setup.page.components[COMPONENTS["search"]].status == "partial_outage"

    # Jira: one ticket per episode (search opened as SEV3 and got the escalation as a comment),
    # and after checkout's SEV1 resolve its postmortem, due, assigned, in valid ADF.
    tickets = setup.jira.with_label("sloguard")
    assert sorted(t.summary.replace(":", "").split(" ")[:2] for t in tickets) == [
        ["SEV1", "checkout-availability"],
        ["SEV3", "search-availability"],
    ]
    search_ticket = next(t for t in tickets if "search" in t.summary)
    assert len(search_ticket.comments) == 1
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
    setup.slack.delay(3.0, times=1)  # conversations.create is in Slack's hands when we kill
    first = _run_once(setup, outage)
    deadline = time.monotonic() + 30
    while not setup.slack.arrivals and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    outputs = list(first.communicate(timeout=10))
    assert first.returncode == -signal.SIGKILL
    setup.slack.wait_for(lambda arrivals: bool(arrivals) and arrivals[0].status is not None)
    assert len([c for c in setup.slack.channels if c.name.startswith("inc-")]) == 1
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
    assert public == {COMPONENTS["checkout"]: "resolved", COMPONENTS["search"]: "investigating"}
    blob = "\n".join(outputs) + setup.state.read_bytes().decode("latin-1")
    assert DEMO_TOKEN not in blob
    assert DEMO_API_KEY not in blob
