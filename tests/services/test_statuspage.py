"""The statuspage notifier against the strict local Statuspage API: one public incident per
published episode, opened, updated and resolved on the SLO's component, in words customers
read, and never twice after a crash."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest

from harness.receivers import StatuspageReceiver
from harness.receivers.statuspage import DEMO_API_KEY, DEMO_PAGE_ID
from sloguard.errors import PermanentDeliveryError, TransientDeliveryError
from sloguard.notify.statuspage import StatuspageConfig, StatuspageNotifier, StatusTemplates
from sloguard.ports import MemoryNotifierState, NotifierState
from sloguard.records import Kind, Notification
from tests.support.incident import deescalating_episode, incident_episode, incident_note, run

COMPONENT = "8kbf7d35c070"


class Clock:
    def __init__(self) -> None:
        self.now = 1_710_770_700.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def page() -> Iterator[StatuspageReceiver]:
    with StatuspageReceiver(components={COMPONENT: "Checkout"}, clock=Clock()) as receiver:
        yield receiver


async def _send(
    page: StatuspageReceiver,
    notes: Iterable[Notification],
    state: NotifierState | None = None,
    key: str = DEMO_API_KEY,
    **config: Any,
) -> None:
    cfg = StatuspageConfig(
        name="public", type="statuspage", api_key_env="UNUSED", page_id=DEMO_PAGE_ID,
        url=page.api_url, **config,
    )  # fmt: skip
    async with httpx.AsyncClient() as client:
        notifier = StatuspageNotifier(
            cfg, client, api_key=key, state=state or MemoryNotifierState()
        )
        for note in notes:
            await notifier.send(note)


def test_an_episode_opens_updates_and_resolves_one_incident(page: StatuspageReceiver) -> None:
    run(_send(page, incident_episode()))
    (incident,) = page.incidents
    assert incident.name == "Service disruption: Checkout"
    assert incident.status == "resolved"
    assert [u["status"] for u in incident.updates] == ["investigating", "identified", "resolved"]
    assert page.components[COMPONENT].history == ["partial_outage", "major_outage", "operational"]
    assert incident.metadata == {"sloguard": {"episode_id": incident_episode()[0].episode_id}}


def test_a_deescalation_updates_the_incident_and_the_component_follows(
    page: StatuspageReceiver,
) -> None:
    run(_send(page, deescalating_episode()))
    (incident,) = page.incidents
    assert [u["status"] for u in incident.updates] == ["investigating", "identified", "resolved"]
    assert incident.updates[1]["body"] == StatusTemplates().deescalated.format(component="Checkout")
    assert page.components[COMPONENT].history == ["major_outage", "partial_outage", "operational"]


def test_customers_read_no_internals(page: StatuspageReceiver) -> None:
    run(_send(page, incident_episode()))
    (incident,) = page.incidents
    shown = " ".join([incident.name, *(u["body"] for u in incident.updates)])
    for internal in ("checkout-availability", "burn", "SEV", "sum(rate", "budget", "sloguard"):
        assert internal not in shown


def test_a_crash_before_the_save_finds_the_incident_instead_of_opening_another(
    page: StatuspageReceiver,
) -> None:
    declared, escalated, _, resolved = incident_episode()
    run(_send(page, [declared]))  # delivered; the record of it was lost with a crash
    run(_send(page, [declared, escalated, resolved]))  # a fresh memory, the outbox resends
    (incident,) = page.incidents
    assert incident.status == "resolved"
    assert page.components[COMPONENT].status == "operational"


def test_a_repeated_delivery_sends_nothing_new(page: StatuspageReceiver) -> None:
    state = MemoryNotifierState()
    declared, escalated, _, _ = incident_episode()
    run(_send(page, [declared, declared, escalated, escalated], state))
    (incident,) = page.incidents
    assert len(incident.updates) == 2


UNPUBLISHED = [
    pytest.param(incident_note(severity="SEV3"), id="sev3-below-the-line"),
    pytest.param(incident_note(status_component={}), id="slo-without-component"),
    pytest.param(incident_note(Kind.STALE), id="stale-is-internal"),
]


@pytest.mark.parametrize("note", UNPUBLISHED)
def test_what_is_not_published_sends_nothing(page: StatuspageReceiver, note: Notification) -> None:
    run(_send(page, [note, dataclasses.replace(note, kind=Kind.RESOLVED, event_id="r")]))
    assert page.incidents == []


def test_an_episode_that_escalates_into_the_publish_line_opens_then(
    page: StatuspageReceiver,
) -> None:
    sev3 = incident_note(severity="SEV3")
    sev1 = incident_note(Kind.ESCALATED, severity="SEV1", previous_severity="SEV3", event_id="e")
    run(_send(page, [sev3, sev1]))
    (incident,) = page.incidents
    assert incident.impact == "critical"
    assert page.components[COMPONENT].status == "major_outage"


def test_templates_are_configurable_and_checked() -> None:
    custom = StatusTemplates(title="{component} problems")
    assert custom.title == "{component} problems"
    with pytest.raises(ValueError, match=r"only \{component\} is available"):
        StatusTemplates(title="{slo} is burning")


def test_rate_limit_and_refusals(page: StatuspageReceiver) -> None:
    page.rate_limit_per_minute = 1
    with pytest.raises(TransientDeliveryError) as caught:
        run(_send(page, incident_episode()[:2]))
    assert caught.value.status == 429
    assert caught.value.retry_after_seconds is not None
    with pytest.raises(PermanentDeliveryError, match="HTTP 401") as refused:
        run(_send(page, incident_episode()[:1], key="sp-LeakCanary-key"))
    assert "LeakCanary" not in str(refused.value)
