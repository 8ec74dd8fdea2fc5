"""The jira notifier against the strict local Jira Cloud: one issue per routed episode
(searched for before it is created), comments in order, and after a paged episode the
postmortem issue with the draft in valid ADF, due and assigned."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest

from harness.receivers import JiraReceiver
from harness.receivers._contracts import contract_validator
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from sloguard.errors import PermanentDeliveryError
from sloguard.notify import _adf
from sloguard.notify.jira import JiraConfig, JiraNotifier, PostmortemTickets
from sloguard.ports import MemoryNotifierState
from sloguard.postmortem import render
from sloguard.records import EpisodeRecord, Kind, Notification, Transition
from tests.support.incident import (
    EPISODE,
    deescalating_episode,
    incident_episode,
    incident_note,
    run,
)


@pytest.fixture
def jira() -> Iterator[JiraReceiver]:
    with JiraReceiver(projects=["OPS"]) as receiver:
        yield receiver


async def _send(
    jira: JiraReceiver,
    notes: Iterable[Notification],
    state: MemoryNotifierState | None = None,
    token: str = DEMO_API_TOKEN,
    postmortem: bool = True,
) -> None:
    config = JiraConfig(
        name="tracker", type="jira", url=jira.url, email=DEMO_EMAIL, api_token_env="UNUSED",
        project="OPS", postmortem=PostmortemTickets(due_days=5) if postmortem else None,
    )  # fmt: skip
    async with httpx.AsyncClient() as client:
        notifier = JiraNotifier(
            config, client, api_token=token, state=state or MemoryNotifierState()
        )
        for note in notes:
            await notifier.send(note)


def _valid_adf(doc: dict[str, Any] | None) -> list[str]:
    return [e.message for e in contract_validator("jira", "adf.schema.json").iter_errors(doc)]


def test_a_sev3_episode_is_one_issue_with_comments(jira: JiraReceiver) -> None:
    sev3 = [
        incident_note(Kind.DECLARED, severity="SEV3"),
        incident_note(Kind.STALE, severity="SEV3"),
        incident_note(Kind.RESOLVED, severity="SEV3", summary="resolved after 2h"),
    ]
    run(_send(jira, sev3))
    (issue,) = jira.issues
    assert issue.labels == ["sloguard", EPISODE]
    assert issue.summary.startswith("SEV3 checkout-availability")
    assert _valid_adf(issue.description) == []
    assert len(issue.comments) == 1  # the resolve; stale is not a ticket event


def test_a_paged_episode_gets_its_postmortem_issue_due_and_assigned(jira: JiraReceiver) -> None:
    run(_send(jira, incident_episode()))
    ticket, postmortem = jira.issues
    assert len(ticket.comments) == 2  # escalation, resolve
    assert postmortem.summary == "Postmortem: checkout-availability SEV1 on 2024-03-18"
    assert postmortem.duedate == "2024-03-23"
    assert postmortem.assignee == "5b10ac8d82e05b22cc7d4ef5"
    assert _valid_adf(postmortem.description) == []


def test_a_deescalation_is_a_comment(jira: JiraReceiver) -> None:
    run(_send(jira, deescalating_episode(), postmortem=False))
    (ticket,) = jira.issues
    texts = [json.dumps(c) for c in ticket.comments]
    assert len(texts) == 2
    assert "De-escalated to SEV2: checkout-availability SEV2" in texts[0]
    assert "Resolved: " in texts[1]


def test_lost_state_searches_before_creating_again(jira: JiraReceiver) -> None:
    notes = incident_episode()
    run(_send(jira, notes))
    run(_send(jira, [notes[0], notes[-1]]))  # everything again with an empty memory
    assert len(jira.issues) == 2


def test_no_postmortem_when_not_configured(jira: JiraReceiver) -> None:
    run(_send(jira, incident_episode(), postmortem=False))
    assert len(jira.issues) == 1


def test_the_real_postmortem_draft_is_valid_adf() -> None:
    episode = EpisodeRecord(
        id=EPISODE,
        slo="checkout-availability",
        declared_at=1_710_770_700.0,
        resolved_at=1_710_776_100.0,
        peak="SEV1",
        transitions=(Transition(1_710_770_700.0, "declared", "SEV1", None, True, ""),),
        peak_burn_rate=320.0,
        burn_seconds=1200.0 * 1000,
        budget_remaining=0.54,
    )
    doc = _adf.document(render(episode))
    assert _valid_adf(doc) == []
    kinds = [b["type"] for b in doc["content"]]
    assert {"heading", "bulletList", "codeBlock", "paragraph"} <= set(kinds)


def test_a_wrong_token_is_a_dead_letter_without_the_token(jira: JiraReceiver) -> None:
    note = dataclasses.replace(incident_note(), severity="SEV3")
    with pytest.raises(PermanentDeliveryError, match="HTTP 401") as caught:
        run(_send(jira, [note], token="jira-LeakCanary-token"))
    assert "LeakCanary" not in str(caught.value)
