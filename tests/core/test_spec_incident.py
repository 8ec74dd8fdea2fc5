"""spec.runbook, spec.incident, spec.status_page and spec.owner: optional, validated with
located errors, carried into the model and into every notification built from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from sloguard.burn import Evaluation
from sloguard.lifecycle import EpisodeState, Event, EventKind, LifecyclePolicy
from sloguard.model import SLO, Severity
from sloguard.notify.pagerduty import PagerDutyConfig
from sloguard.notify.pagerduty import build_payload as pagerduty_payload
from sloguard.notify.webhook import WebhookConfig
from sloguard.notify.webhook import build_payload as webhook_payload
from sloguard.paging import build_notification
from sloguard.postmortem import SloFacts
from sloguard.postmortem import render as render_postmortem
from sloguard.records import EpisodeRecord, Kind, Notification, incident_channel_name
from sloguard.spec import load

ROOT = Path(__file__).resolve().parents[2]

FULL = """apiVersion: sloguard/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  objective: 99.9
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
  runbook_url: https://runbooks.example.com/checkout
  runbook:
    diagnostics: ["kubectl logs -l app=checkout -n prod --since=10m"]
    mitigations:
      - "Roll back: kubectl rollout undo deploy/checkout -n prod"
      - "Disable flag new-cart"
    escalation: ["Payments DB on-call: PagerDuty service PDB123"]
  incident:
    roles: {commander: U012AB3CD, tech_lead: U045EF6GH, communications: U078IJ9KL}
    invite: [S0PAYMENTS]
    bridge_url: https://meet.example.com/payments-incident
  status_page: {component_id: "8kbf7d35c070", name: "Checkout"}
  owner: {team: payments, jira_account_id: "5b10ac8d82e05b22cc7d4ef5"}
"""


def _load(tmp_path: Path, text: str) -> tuple[list[SLO], list[str]]:
    path = tmp_path / "slo.yaml"
    path.write_text(text)
    result = load([path])
    return list(result.slos), [str(p) for p in result.problems]


def test_the_full_example_is_carried_into_the_model(tmp_path: Path) -> None:
    slos, problems = _load(tmp_path, FULL)
    assert problems == []
    slo = slos[0]
    assert slo.runbook.steps() == {
        "diagnostics": ["kubectl logs -l app=checkout -n prod --since=10m"],
        "mitigations": [
            "Roll back: kubectl rollout undo deploy/checkout -n prod",
            "Disable flag new-cart",
        ],
        "escalation": ["Payments DB on-call: PagerDuty service PDB123"],
    }
    assert dict(slo.incident.roles) == {
        "commander": "U012AB3CD",
        "tech_lead": "U045EF6GH",
        "communications": "U078IJ9KL",
    }
    assert slo.incident.invite == ("S0PAYMENTS",)
    assert slo.incident.bridge_url == "https://meet.example.com/payments-incident"
    assert slo.status_page is not None
    assert slo.status_page.name == "Checkout"
    assert slo.owner["jira_account_id"] == "5b10ac8d82e05b22cc7d4ef5"


def test_all_of_it_is_optional(tmp_path: Path) -> None:
    text = FULL.split("  runbook_url:")[0]
    slos, problems = _load(tmp_path, text)
    assert problems == []
    assert slos[0].runbook.steps() == {}
    assert dict(slos[0].incident.roles) == {}
    assert slos[0].status_page is None


BROKEN = [
    pytest.param(
        ("commander: U012AB3CD", "commander: alice"),
        (20, 13),
        "role holder 'alice' is not a Slack ID",
        id="role-is-a-display-name",
    ),
    pytest.param(
        ("invite: [S0PAYMENTS]", "invite: ['#payments']"),
        (21, 5),
        "invite '#payments' is not a Slack ID",
        id="invite-is-a-channel",
    ),
    pytest.param(
        ("bridge_url: https://meet", "bridge_url: meet"),
        (22, 5),
        "is not an http(s) URL",
        id="bridge-not-a-url",
    ),
    pytest.param(
        ('component_id: "8kbf7d35c070"', 'component_id: "Checkout API"'),
        (23, 17),
        "is not a Statuspage component id",
        id="component-id-not-an-id",
    ),
    pytest.param(
        ('name: "Checkout"}', 'nam: "Checkout"}'),
        (23, 47),
        "unknown field 'nam' in spec.status_page; did you mean 'name'?",
        id="status-page-typo",
    ),
    pytest.param(
        ("    mitigations:\n", "    mitigation:\n"),
        (15, 5),
        "did you mean 'mitigations'?",
        id="runbook-typo",
    ),
    pytest.param(
        ('diagnostics: ["kubectl logs -l app=checkout -n prod --since=10m"]', 'diagnostics: [" "]'),
        (14, 5),
        "a runbook step is empty",
        id="runbook-empty-step",
    ),
    pytest.param(
        ('jira_account_id: "5b10ac8d82e05b22cc7d4ef5"', 'jira_account_id: "Alice Smith"'),
        (24, 3),
        "is not a Jira Cloud account id",
        id="jira-account-is-a-name",
    ),
    pytest.param(
        ("roles: {commander", "roles: {captain: U1, commander"),
        (20, 13),
        "unknown field 'captain'",
        id="unknown-role",
    ),
]


@pytest.mark.parametrize(("swap", "where", "message"), BROKEN)
def test_bad_input_is_a_located_error(
    tmp_path: Path, swap: tuple[str, str], where: tuple[int, int], message: str
) -> None:
    old, new = swap
    assert old in FULL
    slos, problems = _load(tmp_path, FULL.replace(old, new))
    assert slos == []
    assert len(problems) == 1, problems
    line, column = where
    assert problems[0].startswith(f"{tmp_path / 'slo.yaml'}:{line}:{column}:"), problems
    assert message in problems[0]


CHANNELS = [
    pytest.param("checkout-availability", "inc-20231114-checkout-availability-", id="readable"),
    pytest.param('api{cluster="eu-1"}', "inc-20231114-api-cluster-eu-1-", id="grouped-key"),
    pytest.param("X" * 200, "inc-20231114-" + "x" * 60, id="long-name-cut"),
]


@pytest.mark.parametrize(("slo", "prefix"), CHANNELS)
def test_channel_names_are_valid_readable_and_unique_per_episode(slo: str, prefix: str) -> None:
    name = incident_channel_name(slo, "sloguard-ep1", 1_700_000_000.0)
    assert name.startswith(prefix)
    assert len(name) <= 80
    assert name == name.lower()
    assert all(c.isalnum() or c == "-" for c in name)
    assert name == incident_channel_name(slo, "sloguard-ep1", 1_700_000_000.0)
    assert name != incident_channel_name(slo, "sloguard-ep2", 1_700_000_000.0)


def _declared(slo: SLO) -> Notification:
    at = 1_700_000_000.0
    event = Event(
        kind=EventKind.DECLARED,
        slo=slo.name,
        episode_id="sloguard-ep1",
        at=at,
        severity=Severity.SEV1,
        previous=Severity.OK,
        notify=True,
    )
    state = EpisodeState(slo=slo.name, episode_id="sloguard-ep1", declared_at=at)
    evaluation = Evaluation(slo.name, at, Severity.SEV1, {3600: 20.0}, 0.9, 3600.0)
    return build_notification(slo, evaluation, event, Kind.DECLARED, state, {}, LifecyclePolicy())


def test_the_page_and_the_declaration_carry_runbook_bridge_and_channel(tmp_path: Path) -> None:
    slos, _ = _load(tmp_path, FULL)
    note = _declared(slos[0])
    note = Notification.from_json(
        {**note.to_json(), "incident_channel": "#inc-20231114-checkout-availability-abc123"}
    )
    page = pagerduty_payload(note, PagerDutyConfig(name="pd", type="pagerduty"))
    assert page["links"][0] == {
        "href": "https://meet.example.com/payments-incident",
        "text": "Incident bridge",
    }
    details = page["payload"]["custom_details"]
    assert details["incident_channel"] == "#inc-20231114-checkout-availability-abc123"
    assert details["runbook"]["mitigations"][1] == "Disable flag new-cart"
    hook = WebhookConfig(name="hook", type="webhook", url="https://x.example", secret_env="HOOK")
    body = webhook_payload(note, hook)
    assert body["data"]["bridge_url"] == "https://meet.example.com/payments-incident"
    assert body["data"]["runbook"]["diagnostics"]
    schema_path = ROOT / "harness/contracts/sloguard-webhook/incident-event.schema.json"
    schema = json.loads(schema_path.read_text())
    assert list(Draft202012Validator(schema).iter_errors(body)) == []
    assert Notification.from_json(note.to_json()) == note


def test_the_postmortem_draft_holds_the_runbook_used(tmp_path: Path) -> None:
    slos, _ = _load(tmp_path, FULL)
    episode = EpisodeRecord(
        id="sloguard-ep1", slo=slos[0].name, declared_at=1_700_000_000.0, resolved_at=None,
        peak="SEV1",
    )  # fmt: skip
    for facts in (SloFacts.of(slos[0]), SloFacts.from_notification(_declared(slos[0]).to_json())):
        draft = render_postmortem(episode, facts)
        assert "## Runbook used" in draft
        assert "- `Disable flag new-cart`" in draft
    assert "Runbook used" not in render_postmortem(episode, SloFacts())
