"""A de-escalation from the config to the outbox: the incident notifiers (slack_app,
statuspage, jira) get a ``deescalated`` row carrying the new and the previous severity; the
pagers (pagerduty, opsgenie, webhook, slack) get nothing new, exactly as before."""

from __future__ import annotations

import asyncio
from typing import Any, get_args

import httpx
import pytest
from pydantic import TypeAdapter

from sloguard.app import paging_policy
from sloguard.config import parse_config
from sloguard.model import Severity
from sloguard.notify import SEVERITY_FOLLOWERS, NotifierConfig, build_notifier
from sloguard.paging import advance
from sloguard.records import Kind, Notification
from tests.support.notify import WEBHOOK_SECRET, notification
from tests.support.ticks import CHECKOUT, T0, reading

CONFIG = """\
prometheus: {url: "http://127.0.0.1:9090"}
slo_paths: [slo/]
state_path: state.db
notifiers:
  - {name: pd, type: pagerduty, routing_key_file: pd-key}
  - {name: og, type: opsgenie, api_key_file: og-key}
  - {name: hook, type: webhook, url: "https://hooks.example.com/x", secret_file: whsec}
  - {name: chat, type: slack, url_file: slack-url}
  - {name: room, type: slack_app, token_file: slack-token}
  - {name: public, type: statuspage, api_key_file: sp-key, page_id: abc}
  - {name: tracker, type: jira, api_token_file: jira-token, project: OPS,
     url: "https://acme.atlassian.net", email: ops-bot@acme.com}
routes:
  - {match: {severity: [SEV1, SEV2, SEV3]}, notifiers: [pd, og, hook, chat, room, public, tracker]}
"""


def test_only_the_incident_notifiers_hear_a_deescalation() -> None:
    policy = paging_policy(parse_config(CONFIG, "sloguard.yaml"))
    assert policy.severity_followers == {"room", "public", "tracker"}
    declared = advance(CHECKOUT, reading(CHECKOUT, Severity.SEV1, T0), None, T0, policy)
    assert {r.kind for r in declared.rows} == {"declared"}
    assert len(declared.rows) == 7
    later = T0 + 60
    down = advance(CHECKOUT, reading(CHECKOUT, Severity.SEV2, later), declared.state, later, policy)
    assert sorted((r.notifier, r.kind) for r in down.rows) == [
        ("public", "deescalated"),
        ("room", "deescalated"),
        ("tracker", "deescalated"),
    ]
    note = Notification.from_json(down.rows[0].payload)
    assert (note.kind, note.severity, note.previous_severity) == (Kind.DEESCALATED, "SEV2", "SEV1")
    assert note.incident_channel.startswith("#inc-")


PAGERS = [
    pytest.param({"type": "pagerduty", "routing_key_env": "PD_KEY"}, id="pagerduty"),
    pytest.param({"type": "opsgenie", "api_key_env": "KEY"}, id="opsgenie"),
    pytest.param(
        {"type": "webhook", "url": "https://hooks.example.com/x", "secret_env": "WH_KEY"},
        id="webhook",
    ),
    pytest.param({"type": "slack", "url_env": "KEY"}, id="slack"),
]


@pytest.mark.parametrize("config", PAGERS)
def test_a_pager_given_a_deescalation_sends_nothing(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Belt and braces: should a row ever reach a pager, it is delivered as a no-op, never a
    re-trigger (PagerDuty, Opsgenie), a new event or a message that reads as a page."""
    monkeypatch.setenv("KEY", "https://hooks.slack.com/services/T0/B0/" + "a" * 24)
    monkeypatch.setenv("PD_KEY", "a" * 32)
    monkeypatch.setenv("WH_KEY", WEBHOOK_SECRET)
    requests: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(500)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
            built = TypeAdapter(NotifierConfig).validate_python({"name": "n", **config})
            await build_notifier(built, client).send(
                notification(Kind.DEESCALATED, severity="SEV2", previous_severity="SEV1")
            )

    asyncio.run(go())
    assert requests == []


SEV3_TICKETS = """\
prometheus: {url: "http://127.0.0.1:9090"}
slo_paths: [slo/]
state_path: state.db
notifiers:
  - {name: pd, type: pagerduty, routing_key_file: pd-key}
  - {name: pd3, type: pagerduty, routing_key_file: pd-key}
  - {name: tracker, type: jira, api_token_file: jira-token, project: OPS,
     url: "https://acme.atlassian.net", email: ops-bot@acme.com}
routes:
  - {match: {severity: [SEV1, SEV2]}, notifiers: [pd]}
  - {match: {severity: [SEV3]}, notifiers: [pd3, tracker]}
"""


def test_a_ticket_routed_at_sev3_alone_opens_when_the_burn_eases_into_sev3() -> None:
    policy = paging_policy(parse_config(SEV3_TICKETS, "sloguard.yaml"))
    story = [Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV2, Severity.SEV3]
    story += [Severity.OK] * 7  # 6 minutes clear: past the 5-minute quiet period
    state = None
    heard: list[tuple[str, str, str]] = []
    for i, severity in enumerate(story):
        at = T0 + 60 * i
        out = advance(CHECKOUT, reading(CHECKOUT, severity, at), state, at, policy)
        state = out.state
        heard += [(r.notifier, r.kind, r.severity) for r in out.rows]
    assert heard == [
        ("pd", "declared", "SEV1"),
        ("tracker", "declared", "SEV3"),  # once, when the burn slowed to the ticket tier
        ("tracker", "escalated", "SEV2"),
        ("tracker", "deescalated", "SEV3"),
        ("pd", "resolved", "SEV1"),
        ("tracker", "resolved", "SEV1"),  # the peak: its postmortem follows (docs/incident.md)
    ]


def test_the_severity_followers_are_the_incident_notifiers() -> None:
    """Routing sends a de-escalation to these integrations alone; every other one is a pager
    above (``PAGERS``) and is shown to do nothing with one."""
    assert {"slack_app", "statuspage", "jira"} == SEVERITY_FOLLOWERS
    pagers = {p.values[0]["type"] for p in PAGERS}  # type: ignore[index]
    every = set(get_args(get_args(NotifierConfig)[0]))
    types = {get_args(c.model_fields["type"].annotation)[0] for c in every}
    assert pagers | SEVERITY_FOLLOWERS == types
    assert not pagers & SEVERITY_FOLLOWERS
