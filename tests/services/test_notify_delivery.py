"""Notifiers against the contract-enforcing receivers: whole episodes round-trip, failures are
classified as the vendors document, and the reference Standard Webhooks library verifies us."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from standardwebhooks import Webhook

from harness.receivers import (
    OpsgenieReceiver,
    PagerDutyReceiver,
    Receiver,
    SlackReceiver,
    WebhookReceiver,
)
from sloguard.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from sloguard.notify import NotifierConfig, build_notifier
from sloguard.notify.webhook import WebhookConfig, WebhookNotifier
from sloguard.records import Notification
from tests.support.notify import (
    BEARER,
    GENIE_KEY,
    ROUTING_KEY,
    SLACK_PATH,
    WEBHOOK_SECRET,
    episode,
    notification,
)

ADAPTER: TypeAdapter[Any] = TypeAdapter(NotifierConfig)


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_KEY", ROUTING_KEY)
    monkeypatch.setenv("OG_KEY", GENIE_KEY)
    monkeypatch.setenv("WH_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("WH_TOKEN", BEARER)


def deliver(config: dict[str, Any], notifications: list[Notification]) -> None:
    import asyncio

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            notifier = build_notifier(ADAPTER.validate_python(config), client)
            for n in notifications:
                await notifier.send(n)

    asyncio.run(go())


def pd_config(r: PagerDutyReceiver, **extra: Any) -> dict[str, Any]:
    return {
        "type": "pagerduty",
        "name": "pd",
        "routing_key_env": "PD_KEY",
        "url": r.enqueue_url,
    } | extra


def og_config(r: OpsgenieReceiver, **extra: Any) -> dict[str, Any]:
    return {"type": "opsgenie", "name": "og", "api_key_env": "OG_KEY", "url": r.url} | extra


def wh_config(r: WebhookReceiver, preset: str = "generic", **extra: Any) -> dict[str, Any]:
    return {
        "type": "webhook",
        "name": "wh",
        "preset": preset,
        "url": r.url + "/hook",
        "secret_env": "WH_SECRET",
    } | extra


def slack_config(r: SlackReceiver, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("SLACK_URL", r.webhook_url)
    return {"type": "slack", "name": "sl", "url_env": "SLACK_URL"}


# --- whole episodes -------------------------------------------------------------------------
def test_pagerduty_episode() -> None:
    with PagerDutyReceiver(routing_keys=[ROUTING_KEY]) as r:
        deliver(pd_config(r), episode())
        page = r.incidents_for("checkout-availability-20231114T221320Z")
        stale = r.incidents_for("checkout-availability-20231114T221320Z:stale")
    assert len(page) == 1  # one incident per episode
    assert page[0].severities == ["error", "critical"]  # escalation re-triggers the same key
    assert page[0].severity == "critical"
    assert page[0].status == "resolved"
    assert page[0].summary.startswith("SEV2→SEV1 checkout-availability burning 14.6x")
    assert len(stale) == 1
    assert (stale[0].severity, stale[0].status) == ("warning", "resolved")
    assert all(a.status == 202 for a in r.arrivals)


def test_pagerduty_retried_trigger_does_not_open_a_second_incident() -> None:
    with PagerDutyReceiver() as r:
        deliver(pd_config(r), [notification(), notification()])
        assert len(r.incidents) == 1
        assert r.incidents[0].severities == ["critical", "critical"]


@pytest.mark.parametrize("api", ["opsgenie", "jsm"])
def test_opsgenie_episode(api: str) -> None:
    with OpsgenieReceiver(api_keys=[GENIE_KEY]) as r:
        url = r.url + ("/jsm/ops/integration" if api == "jsm" else "")
        deliver(og_config(r, url=url, api=api), episode())
        alerts = r.alerts_for("checkout-availability-20231114T221320Z")
        stale = r.alerts_for("checkout-availability-20231114T221320Z:stale")
        paths = [(a.method, a.path, a.query.get("identifierType")) for a in r.arrivals]
    assert len(alerts) == 1
    assert alerts[0].count == 2
    assert alerts[0].priority == "P1"
    assert alerts[0].status == "closed"
    assert "Escalated from SEV2 to SEV1" in alerts[0].notes
    assert (len(stale), stale[0].priority, stale[0].status) == (1, "P3", "closed")
    for arrival in r.arrivals:  # every asynchronous request really succeeded
        request_id = json.loads(arrival.reply)["requestId"]
        assert r.requests[request_id]["isSuccess"], (arrival.path, r.requests[request_id])
    prefix = "/jsm/ops/integration" if api == "jsm" else ""
    escalate = (
        "PUT",
        f"{prefix}/v2/alerts/checkout-availability-20231114T221320Z/priority",
        "alias",
    )
    note = ("POST", f"{prefix}/v2/alerts/checkout-availability-20231114T221320Z/notes", "alias")
    assert paths[2] == (note if api == "jsm" else escalate)
    assert (
        "POST",
        f"{prefix}/v2/alerts/checkout-availability-20231114T221320Z/close",
        "alias",
    ) in paths


@pytest.mark.parametrize("preset", ["generic", "incident_io", "rootly", "firehydrant"])
def test_webhook_episode(preset: str) -> None:
    with WebhookReceiver(secret=WEBHOOK_SECRET, preset=preset, auth_token=BEARER) as r:
        deliver(wh_config(r, preset, auth_token_env="WH_TOKEN"), episode())
        outcomes = [a.outcome for a in r.arrivals]
        ids = [a.headers["webhook-id"] for a in r.arrivals]
        incidents = r.incidents
    assert outcomes == ["accepted"] * 4
    assert ids == [n.event_id for n in episode()]
    page = [i for i in incidents if not i.key.endswith(":stale")]
    assert len(page) == 1
    assert page[0].status == "resolved"
    assert page[0].severities == ["SEV2", "SEV1"]


def test_webhook_generic_events_in_order_with_postmortem() -> None:
    with WebhookReceiver(secret=WEBHOOK_SECRET) as r:
        deliver(wh_config(r), episode())
    assert [e["type"] for e in r.events] == [
        "incident.declared",
        "incident.escalated",
        "slo.evaluation_stale",
        "incident.resolved",
    ]
    resolved = r.events[-1]["data"]
    assert resolved["postmortem_markdown"].startswith("# checkout-availability")
    assert r.events[1]["data"]["previous_severity"] == "SEV2"


def test_webhook_retry_keeps_the_id_and_receiver_dedups() -> None:
    with WebhookReceiver(secret=WEBHOOK_SECRET) as r:
        r.drop(1)  # the first attempt arrives, but the answer is lost
        with pytest.raises(TransientDeliveryError):
            deliver(wh_config(r), [notification()])
        deliver(wh_config(r), [notification(), notification()])
        assert [a.outcome for a in r.arrivals] == ["fault:drop", "accepted", "duplicate"]
        assert len({a.headers["webhook-id"] for a in r.arrivals}) == 1
        assert len(r.events) == 1


def test_slack_episode(monkeypatch: pytest.MonkeyPatch) -> None:
    with SlackReceiver(path=SLACK_PATH) as r:
        deliver(slack_config(r, monkeypatch), episode())
    headers = [m["blocks"][0]["text"]["text"] for m in r.messages]
    assert headers == [
        ":rotating_light: SEV2 declared: checkout-availability",
        ":arrow_double_up: SEV2→SEV1 escalated: checkout-availability",
        ":grey_question: SEV1 evaluation stale: checkout-availability",
        ":white_check_mark: SEV1 resolved: checkout-availability",
    ]


def test_reference_library_verifies_our_signature() -> None:
    """standardwebhooks' own verify() (real clock, 5-minute tolerance) accepts what we send."""
    with WebhookReceiver(secret=WEBHOOK_SECRET) as r:
        deliver(wh_config(r), [notification()])
        arrival = r.arrivals[0]
    payload = Webhook(WEBHOOK_SECRET).verify(arrival.body, arrival.headers)
    assert payload["type"] == "incident.declared"
    assert abs(int(arrival.headers["webhook-timestamp"]) - time.time()) < 60


# --- retry classification -------------------------------------------------------------------
def make(
    kind: str, monkeypatch: pytest.MonkeyPatch, timeout: float = 5.0
) -> tuple[Receiver, dict[str, Any]]:
    if kind == "pagerduty":
        pd = PagerDutyReceiver()
        pd.start()
        return pd, pd_config(pd, timeout_seconds=timeout)
    if kind == "opsgenie":
        og = OpsgenieReceiver(api_keys=[GENIE_KEY])
        og.start()
        return og, og_config(og, timeout_seconds=timeout)
    if kind == "webhook":
        wh = WebhookReceiver(secret=WEBHOOK_SECRET)
        wh.start()
        return wh, wh_config(wh, timeout_seconds=timeout)
    sl = SlackReceiver()
    sl.start()
    monkeypatch.setenv("SLACK_URL", sl.webhook_url)
    return sl, {"type": "slack", "name": "sl", "url_env": "SLACK_URL", "timeout_seconds": timeout}


INTEGRATIONS = ["pagerduty", "opsgenie", "webhook", "slack"]
STATUS_CASES = [
    # (status, retry_after header, expected error, expected retry_after_seconds)
    pytest.param(500, None, TransientDeliveryError, None, id="500"),
    pytest.param(502, None, TransientDeliveryError, None, id="502"),
    pytest.param(503, "12", TransientDeliveryError, 12.0, id="503-retry-after"),
    pytest.param(429, "7", TransientDeliveryError, 7.0, id="429-retry-after"),
    pytest.param(400, None, PermanentDeliveryError, None, id="400"),
    pytest.param(401, None, PermanentDeliveryError, None, id="401"),
    pytest.param(403, None, PermanentDeliveryError, None, id="403"),
    pytest.param(404, None, PermanentDeliveryError, None, id="404"),
    pytest.param(422, None, PermanentDeliveryError, None, id="422"),
]


@pytest.mark.parametrize("integration", INTEGRATIONS)
@pytest.mark.parametrize(("status", "retry_after", "error", "seconds"), STATUS_CASES)
def test_status_classification(
    integration: str,
    status: int,
    retry_after: str | None,
    error: type[DeliveryError],
    seconds: float | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, config = make(integration, monkeypatch)
    with receiver:
        receiver.fail(1, status=status, retry_after=retry_after)
        with pytest.raises(error) as info:
            deliver(config, [notification()])
    assert type(info.value) is error
    assert info.value.status == status
    if isinstance(info.value, TransientDeliveryError):  # the same test: type(value) is error
        assert info.value.retry_after_seconds == seconds


@pytest.mark.parametrize(
    ("integration", "retry_after"),
    [
        pytest.param("pagerduty", 30.0, id="pagerduty-30s-per-its-rate-limit-page"),
        pytest.param("opsgenie", None, id="opsgenie"),
        pytest.param("webhook", None, id="webhook"),
        pytest.param("slack", None, id="slack"),
    ],
)
def test_429_without_retry_after(
    integration: str, retry_after: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, config = make(integration, monkeypatch)
    with receiver:
        receiver.fail(1, status=429)
        with pytest.raises(TransientDeliveryError) as info:
            deliver(config, [notification()])
    assert info.value.retry_after_seconds == retry_after


@pytest.mark.parametrize(
    ("integration", "status", "error"),
    [
        pytest.param(
            "opsgenie", 501, PermanentDeliveryError, id="opsgenie-501-not-retried-like-go-sdk"
        ),
        pytest.param("opsgenie", 402, PermanentDeliveryError, id="opsgenie-402-plan"),
        pytest.param("slack", 410, PermanentDeliveryError, id="slack-410-archived"),
        pytest.param("webhook", 410, PermanentDeliveryError, id="webhook-410-gone"),
        pytest.param("webhook", 308, PermanentDeliveryError, id="webhook-redirect-not-followed"),
        pytest.param("webhook", 504, TransientDeliveryError, id="webhook-504"),
        pytest.param("pagerduty", 408, TransientDeliveryError, id="pagerduty-408"),
    ],
)
def test_vendor_specific_classification(
    integration: str, status: int, error: type[DeliveryError], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, config = make(integration, monkeypatch)
    with receiver:
        receiver.fail(1, status=status)
        with pytest.raises(error):
            deliver(config, [notification()])


@pytest.mark.parametrize("integration", INTEGRATIONS)
@pytest.mark.parametrize("fault", ["drop", "reset", "timeout", "down"])
def test_transport_failures_are_transient(
    integration: str, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, config = make(integration, monkeypatch, 0.3 if fault == "timeout" else 5.0)
    with receiver:
        if fault == "timeout":
            receiver.delay(1.0, times=1)  # the client gives up after 0.3 s
        elif fault == "down":
            receiver.down()
        else:
            getattr(receiver, fault)(1)
        with pytest.raises(TransientDeliveryError) as info:
            deliver(config, [notification()])
        if fault == "timeout":
            assert "no answer within 0.3s" in str(info.value)
        receiver.up()
        receiver.clear_faults()
        deliver(config, [notification()])  # and it goes through once the receiver is back
        assert receiver.accepted()


def test_receiver_down_then_back_gets_everything_in_order() -> None:
    """A caller that retries on TransientDeliveryError loses nothing across an outage."""
    import asyncio

    with PagerDutyReceiver() as r:
        config = ADAPTER.validate_python(pd_config(r, timeout_seconds=5.0))
        r.down()

        async def go() -> None:
            async with httpx.AsyncClient() as client:
                notifier = build_notifier(config, client)
                for i, n in enumerate(episode()):
                    attempts = 0
                    while True:
                        try:
                            await notifier.send(n)
                            break
                        except TransientDeliveryError:
                            attempts += 1
                            if i == 0 and attempts == 3:
                                r.up()  # back after three failed attempts
                            await asyncio.sleep(0)

        asyncio.run(go())
        actions = [
            (a.json["event_action"], a.json["dedup_key"].endswith(":stale")) for a in r.accepted()
        ]
    assert actions == [
        ("trigger", False),
        ("trigger", False),
        ("trigger", True),
        ("resolve", False),
        ("resolve", True),
    ]
    assert [i.status for i in r.incidents] == ["resolved", "resolved"]


def test_webhook_notifier_timestamp_is_per_attempt() -> None:
    clock = iter([1_700_000_000.0, 1_700_000_100.0])
    with WebhookReceiver(secret=WEBHOOK_SECRET, clock=lambda: 1_700_000_050.0) as r:
        import asyncio

        async def go() -> None:
            async with httpx.AsyncClient() as client:
                config = WebhookConfig.model_validate(wh_config(r) | {"type": "webhook"})
                notifier = WebhookNotifier(
                    config, client, url=r.url, secret=WEBHOOK_SECRET, now=lambda: next(clock)
                )
                await notifier.send(notification())
                await notifier.send(notification())

        asyncio.run(go())
    stamps = [a.headers["webhook-timestamp"] for a in r.arrivals]
    assert stamps == ["1700000000", "1700000100"]
    assert [a.outcome for a in r.arrivals] == ["accepted", "duplicate"]
