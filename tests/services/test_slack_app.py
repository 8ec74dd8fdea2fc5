"""The slack_app notifier against the strict local Slack Web API: one channel per incident,
its team invited, the runbook at hand, the story told in order, and Slack's envelope, rate
limits and refusals honoured."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx
import pytest

from harness.receivers import SlackChannel, SlackWebReceiver
from harness.receivers.slack_web import DEMO_TOKEN
from sloguard.errors import PermanentDeliveryError, TransientDeliveryError
from sloguard.notify.slack_app import SlackAppConfig, SlackAppNotifier
from sloguard.ports import MemoryNotifierState
from sloguard.records import Kind, Notification
from tests.support.incident import (
    BRIDGE,
    GROUP,
    GROUP_MEMBERS,
    ROLES,
    deescalating_episode,
    incident_episode,
    incident_note,
    run,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_710_770_700.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[SlackWebReceiver]:
    with SlackWebReceiver(usergroups={GROUP: GROUP_MEMBERS}, clock=Clock()) as receiver:
        receiver.workspace.create({"name": "incidents"})
        yield receiver


def _notifier(
    slack: SlackWebReceiver,
    client: httpx.AsyncClient,
    state: MemoryNotifierState | None = None,
    token: str = DEMO_TOKEN,
) -> SlackAppNotifier:
    config = SlackAppConfig(
        name="war-room",
        type="slack_app",
        token_env="UNUSED",
        url=slack.api_url,
        announce_channel=slack.channel("incidents").id,
    )
    return SlackAppNotifier(config, client, token=token, state=state or MemoryNotifierState())


async def _send(
    slack: SlackWebReceiver,
    notes: Iterable[Notification],
    state: MemoryNotifierState | None = None,
    token: str = DEMO_TOKEN,
) -> None:
    async with httpx.AsyncClient() as client:
        notifier = _notifier(slack, client, state, token)
        for note in notes:
            await notifier.send(note)


def _incident_channels(slack: SlackWebReceiver) -> list[SlackChannel]:
    return [c for c in slack.channels if c.name.startswith("inc-")]


def test_one_episode_is_one_channel_with_its_team_runbook_and_story(
    slack: SlackWebReceiver,
) -> None:
    run(_send(slack, incident_episode()))
    (channel,) = _incident_channels(slack)
    assert channel.name == "inc-20240318-checkout-availability-1a2b3c"
    assert channel.topic.startswith("Resolved (peak SEV1) · checkout-availability · 64%")
    assert [b["title"] for b in channel.bookmarks] == ["Runbook", "Dashboard"]
    assert set(channel.members) >= {*ROLES.values(), *GROUP_MEMBERS}
    first, escalated, stale, resolved = (m.text for m in channel.messages)
    assert ":rotating_light: *SEV2 declared*" in first
    for expected in (
        "Incident Commander: <@U012AB3CD>",
        "Technical Lead: <@U045EF6GH>",
        "Communications Lead: <@U078IJ9KL>",
        "burning its error budget 7.1x over 6h",
        "1. kubectl logs -l app=checkout -n prod --since=10m",
        "2. Disable flag new-cart",
        "*Escalate*",
        f"<{BRIDGE}|join>",
    ):
        assert expected in first
    assert escalated.startswith(":arrow_double_up: *Escalated to SEV1*")
    assert stale.startswith(":grey_question: *Evaluation stale*")
    assert "sloguard postmortem sloguard-" in resolved
    assert "*Impact*" in resolved
    (announce,) = slack.channel("incidents").messages
    assert f"<#{channel.id}>" in announce.text


class Crash(BaseException):
    """The process dies (SIGKILL) before the state write: nothing after it runs."""


class CrashingOnFirstSave(MemoryNotifierState):
    def __init__(self) -> None:
        super().__init__()
        self.crashed = False

    def save_notifier_state(
        self, notifier: str, episode_id: str, state: Mapping[str, Any], at: float
    ) -> None:
        if not self.crashed:
            self.crashed = True
            raise Crash
        super().save_notifier_state(notifier, episode_id, state, at)


def test_a_deescalation_is_a_message_in_order_and_the_topic_follows(
    slack: SlackWebReceiver,
) -> None:
    declared, deescalated, resolved = deescalating_episode()
    state = MemoryNotifierState()
    run(_send(slack, [declared, deescalated], state))
    (channel,) = _incident_channels(slack)
    assert channel.topic.startswith("SEV2 · checkout-availability")
    run(_send(slack, [deescalated, resolved], state))  # delivered twice: posted once
    texts = [m.text for m in channel.messages]
    assert len(texts) == 3
    assert texts[0].startswith(":rotating_light: *SEV1 declared*")
    assert texts[1].startswith(":arrow_down: *De-escalated to SEV2* (from SEV1)")
    assert texts[2].startswith(":white_check_mark: *Resolved*")


def test_a_crash_between_create_and_commit_never_makes_two_channels(
    slack: SlackWebReceiver,
) -> None:
    state = CrashingOnFirstSave()
    declared = incident_note(Kind.DECLARED)
    with pytest.raises(Crash):
        run(_send(slack, [declared], state))  # created, then killed before the state write
    run(_send(slack, [declared], state))  # the outbox sends it again after the restart
    (channel,) = _incident_channels(slack)
    created = [a for a in slack.arrivals if a.path.endswith("conversations.create")]
    assert [a.errors for a in created] == [[], ["name_taken"]]
    assert len(channel.bookmarks) == 2
    assert len(channel.messages) == 1


class FailNth(httpx.AsyncBaseTransport):
    """The network drops the ``nth`` request of a client (it never arrives)."""

    def __init__(self, nth: int) -> None:
        self.nth, self.seen = nth, 0
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen == self.nth:
            raise httpx.ConnectError("dropped", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_failure_midway_resumes_without_repeating_steps(slack: SlackWebReceiver) -> None:
    """Attempts that each fail one call further, as the outbox retries: every step once."""
    state = MemoryNotifierState()
    declared = incident_note(Kind.DECLARED)

    async def attempt(nth: int) -> None:
        async with httpx.AsyncClient(transport=FailNth(nth)) as client:
            await _notifier(slack, client, state).send(declared)

    failures = 0
    while True:  # each attempt gets one call through, then the network drops the next
        try:
            run(attempt(2))
        except TransientDeliveryError:
            failures += 1
            continue
        break
    assert failures >= 6  # create, topic, 2 bookmarks, group lookup, invite, message, announce
    run(_send(slack, [declared], state))  # a duplicate delivery adds nothing
    (channel,) = _incident_channels(slack)
    assert len(channel.bookmarks) == 2
    assert len(channel.messages) == 1
    assert len(slack.channel("incidents").messages) == 1
    assert set(channel.members) >= {*ROLES.values(), *GROUP_MEMBERS}


def test_an_escalation_delivered_twice_is_posted_once(slack: SlackWebReceiver) -> None:
    state = MemoryNotifierState()
    notes = incident_episode()
    run(_send(slack, [notes[0], notes[1], notes[1]], state))
    (channel,) = _incident_channels(slack)
    assert len(channel.messages) == 2


REFUSALS = [
    pytest.param("token", "invalid_auth", id="revoked-token"),
    pytest.param("archived", "is_archived", id="channel-archived"),
]


@pytest.mark.parametrize(("case", "code"), REFUSALS)
def test_permanent_refusals_dead_letter_with_a_clear_reason(
    slack: SlackWebReceiver, case: str, code: str
) -> None:
    state = MemoryNotifierState()
    notes = incident_episode()
    token = DEMO_TOKEN
    if case == "token":
        token = "xoxb-not-the-right-one-LeakCanary"
    else:
        run(_send(slack, [notes[0]], state))
        slack.archive(_incident_channels(slack)[0].id)
    with pytest.raises(PermanentDeliveryError) as caught:
        run(_send(slack, [notes[1]], state, token))
    assert f": {code}" in str(caught.value)
    assert "LeakCanary" not in str(caught.value)


def test_slack_rate_limits_are_honoured_with_retry_after(slack: SlackWebReceiver) -> None:
    """bookmarks.add is Tier 2 (20 a minute): the eleventh declaration in one minute is told
    to wait, and the outbox gets Slack's Retry-After."""
    notes = [
        incident_note(episode_id=f"sloguard-ep{i}", event_id=f"ep{i}", incident_channel="")
        for i in range(20)
    ]
    with pytest.raises(TransientDeliveryError) as caught:
        run(_send(slack, notes))
    assert caught.value.status == 429
    assert caught.value.retry_after_seconds is not None
    assert caught.value.retry_after_seconds > 0


def test_a_channel_name_taken_by_someone_else_private_is_a_clear_dead_letter(
    slack: SlackWebReceiver,
) -> None:
    note = incident_note()
    slack.workspace.create({"name": note.incident_channel[1:], "is_private": True})
    with pytest.raises(PermanentDeliveryError, match="name_taken, and no channel"):
        run(_send(slack, [note]))


def test_no_roles_and_no_runbook_still_make_a_useful_channel(slack: SlackWebReceiver) -> None:
    note = dataclasses.replace(
        incident_note(), roles={}, invite=(), runbook={}, bridge_url="", runbook_url=""
    )
    run(_send(slack, [note]))
    (channel,) = _incident_channels(slack)
    assert "take Incident Commander here" in channel.messages[0].text
    assert [b["title"] for b in channel.bookmarks] == ["Dashboard"]
