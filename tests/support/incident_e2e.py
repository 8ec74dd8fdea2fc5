"""The incident end-to-end setup the real-Prometheus suites share (``run --once`` steps in
test_incident_prometheus, the long-running daemon in test_incident_daemon): SLO files with
their people and runbook, secrets, the three incident receivers and the config."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.receivers import (
    Arrival,
    JiraReceiver,
    Receiver,
    SlackWebReceiver,
    StatuspageReceiver,
)
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from harness.receivers.slack_web import DEMO_TOKEN
from harness.receivers.statuspage import DEMO_API_KEY, DEMO_PAGE_ID
from tests.support.prom import Served

COMPONENTS = {"checkout": "8kbf7d35c070", "search": "p31zjtct2jer", "ledger": "q7m2ld9v0h4c"}
ROLES = {"commander": "U012AB3CD", "tech_lead": "U045EF6GH", "communications": "U078IJ9KL"}
GROUP = ("S0PAYMENTS", ("U0PAY1", "U0PAY2"))


def slo_yaml(job: str, services: tuple[str, ...] = ("checkout", "search")) -> str:
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

    return "---\n".join(one(service) for service in services)


@dataclass
class Setup:
    config: Path
    slack: SlackWebReceiver
    page: StatuspageReceiver
    jira: JiraReceiver
    state: Path
    base: str = ""  # the config's text before any ``configure`` lines

    def configure(self, extra: str) -> None:
        """Rewrite the config: the notifiers and routes, then ``extra`` lines."""
        self.config.write_text(self.base + extra)


# SEV1/SEV2 to all three notifiers, SEV3 to Jira alone.
ROUTES = """\
  - {match: {severity: [SEV1, SEV2]}, notifiers: [war-room, public, tracker]}
  - {match: {severity: [SEV3]}, notifiers: [tracker]}
"""
# Jira as the ticket tier only: its ticket opens when an episode burns at SEV3, also when a
# SEV1/SEV2 eases into it (sloguard.routing.dispatch).
TICKETS_AT_SEV3 = """\
  - {match: {severity: [SEV1, SEV2]}, notifiers: [war-room, public]}
  - {match: {severity: [SEV3]}, notifiers: [tracker]}
"""


@contextmanager
def incident_setup(
    incidents: Served,
    tmp_path: Path,
    services: tuple[str, ...] = ("checkout", "search"),
    routes: str = ROUTES,
) -> Iterator[Setup]:
    """The checkout and search SLOs with their people, runbook and public component; the
    strict Slack Web API, Statuspage and Jira receivers; a config with ``routes`` (YAML list
    items; by default SEV1/SEV2 to all three and SEV3 to Jira alone)."""
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "slos.yaml").write_text(slo_yaml(incidents.scenario.job, services))
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
        base = f"""\
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
{routes}delivery: {{attempt_timeout_seconds: 5}}
"""
        setup = Setup(
            tmp_path / "sloguard.yaml", slack, page, jira, tmp_path / "state" / "sloguard.db", base
        )
        setup.configure("")
        yield setup


class KillAtCreate:
    """Kills a daemon the moment Slack has made an incident channel, before the answer reaches
    it: the receiver calls ``on_arrival`` after handling a request and before replying, so the
    channel exists at Slack and the daemon never learns it (a crash between create and commit).
    """

    def __init__(self, slack: SlackWebReceiver) -> None:
        self._slack = slack
        self._proc: subprocess.Popen[str] | None = None
        self._watched = threading.Event()
        self._killed = threading.Event()
        slack.on_arrival = self._on_arrival

    def watch(self, proc: subprocess.Popen[str]) -> None:
        self._proc = proc
        self._watched.set()

    def _on_arrival(self, _: Receiver, arrival: Arrival) -> None:
        # A daemon may ask for its channel before the test has handed it over (a quiet machine
        # starts it and ticks within milliseconds): hold Slack's answer until it has.
        if not arrival.path.endswith("conversations.create") or not self._watched.wait(30):
            return
        proc = self._proc
        if proc and not self._killed.is_set():
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            self._killed.set()

    def wait(self, timeout: float = 60.0) -> bool:
        """Whether the kill happened within ``timeout``; the receiver answers normally after."""
        killed = self._killed.wait(timeout)
        self._slack.on_arrival = None
        return killed
