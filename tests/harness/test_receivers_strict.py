"""The fake receivers are strict: each invalid request is refused the way the real service
refuses it, and the same request made valid is accepted (so each case can fail)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.receivers import (
    OpsgenieReceiver,
    PagerDutyReceiver,
    SlackReceiver,
    WebhookReceiver,
)
from tests.support.notify import GENIE_KEY, ROUTING_KEY, WEBHOOK_SECRET

KEY_BYTES = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
# One client for the module: building one per call costs ~0.1 s of TLS setup. It keeps no
# connection open between calls (the receivers allow keep-alive), so none outlives a test.
http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


def pd_trigger(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "ep-1",
        "payload": {"summary": "s", "source": "checkout", "severity": "critical"},
    }
    body.update(over)
    return body


@pytest.fixture(scope="module")
def pd() -> Iterator[PagerDutyReceiver]:
    with PagerDutyReceiver(routing_keys=[ROUTING_KEY], rate_limit_per_minute=None) as r:
        yield r


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(
            pd_trigger(routing_key="a" * 31),
            "Length of 'routing_key' is incorrect (should be 32 characters)",
            id="key-31-chars",
        ),
        pytest.param(
            pd_trigger(routing_key="a" * 33),
            "Length of 'routing_key' is incorrect (should be 32 characters)",
            id="key-33-chars",
        ),
        pytest.param(
            pd_trigger(routing_key="a" * 31 + "-"),
            "'routing_key' cannot contain non-alphanumeric characters.",
            id="key-not-alnum",
        ),
        pytest.param(pd_trigger(routing_key="b" * 32), "Invalid routing key", id="key-unknown"),
        pytest.param(
            {k: v for k, v in pd_trigger().items() if k != "payload"},
            "'payload' is a required property",
            id="trigger-without-payload",
        ),
        pytest.param(
            pd_trigger(event_action="resolve", dedup_key=None) | {"dedup_key": None},
            "dedup_key",
            id="resolve-null-dedup",
        ),
        pytest.param(
            {"routing_key": ROUTING_KEY, "event_action": "resolve"},
            "'dedup_key' is a required property",
            id="resolve-without-dedup",
        ),
        pytest.param(
            pd_trigger(payload={"summary": "s", "source": "c", "severity": "Info"}),
            "'payload.severity' is invalid",
            id="severity-case",
        ),
        pytest.param(
            pd_trigger(payload={"summary": "s" * 1025, "source": "c", "severity": "info"}),
            "payload.summary",
            id="summary-1025",
        ),
        pytest.param(
            pd_trigger(payload={"source": "c", "severity": "info"}),
            "'summary' is a required property",
            id="summary-missing",
        ),
        pytest.param(pd_trigger(dedup_key="d" * 256), "dedup_key", id="dedup-256"),
        pytest.param(pd_trigger(event_action="page"), "event_action", id="unknown-action"),
    ],
)
def test_pagerduty_refuses(pd: PagerDutyReceiver, body: dict[str, Any], error: str) -> None:
    response = http.post(pd.enqueue_url, json=body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "invalid event"
    assert answer["message"] == "Event object is invalid"
    assert any(error in e for e in answer["errors"]), answer["errors"]


def test_pagerduty_accepts_the_valid_version(pd: PagerDutyReceiver) -> None:
    response = http.post(pd.enqueue_url, json=pd_trigger(dedup_key="valid-1"))
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "valid-1",
    }


@pytest.mark.parametrize(
    "content",
    [pytest.param(b"{not json", id="broken"), pytest.param(b"[1, 2]", id="not-an-object")],
)
def test_pagerduty_unparseable(pd: PagerDutyReceiver, content: bytes) -> None:
    response = http.post(pd.enqueue_url, content=content)
    assert response.status_code == 400
    assert response.json()["status"] == "Unrecognized object"


def test_pagerduty_dedup_semantics() -> None:
    with PagerDutyReceiver() as r:

        def send(action: str, severity: str = "warning", key: str = "k") -> httpx.Response:
            body = pd_trigger(event_action=action, dedup_key=key)
            body["payload"]["severity"] = severity
            if action != "trigger":
                del body["payload"]
            return http.post(r.enqueue_url, json=body)

        assert send("resolve").status_code == 202  # nothing open: dropped, still 202
        assert r.arrivals[-1].outcome == "dropped"
        send("trigger", "warning")
        send("trigger", "critical")
        send("trigger", "warning")  # never lowered
        assert len(r.incidents) == 1
        assert r.incidents[0].severity == "critical"
        assert r.incidents[0].severities == ["warning", "critical", "warning"]
        send("resolve")
        assert r.incidents[0].status == "resolved"
        send("trigger")  # a resolved key opens a new incident
        assert [i.status for i in r.incidents] == ["resolved", "triggered"]
        no_key = pd_trigger()
        del no_key["dedup_key"]
        answer = http.post(r.enqueue_url, json=no_key).json()
        assert len(answer["dedup_key"]) == 36  # generated: a new alert every time
        assert len(r.incidents) == 3


def test_pagerduty_rate_limit_per_routing_key() -> None:
    now = [1000.0]
    with PagerDutyReceiver(rate_limit_per_minute=3, clock=lambda: now[0]) as r:
        codes = [http.post(r.enqueue_url, json=pd_trigger()).status_code for _ in range(4)]
        other = http.post(r.enqueue_url, json=pd_trigger(routing_key="z" * 32)).status_code
        now[0] += 61
        later = http.post(r.enqueue_url, json=pd_trigger()).status_code
    assert codes == [202, 202, 202, 429]
    assert other == 202
    assert later == 202


# --- Opsgenie -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def og() -> Iterator[OpsgenieReceiver]:
    with OpsgenieReceiver(api_keys=[GENIE_KEY]) as r:
        yield r


AUTH = {"Authorization": f"GenieKey {GENIE_KEY}"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-auth"),
        pytest.param({"Authorization": "GenieKey wrong"}, 401, id="wrong-key"),
        pytest.param({"Authorization": f"Bearer {GENIE_KEY}"}, 401, id="wrong-scheme"),
        pytest.param(AUTH, 202, id="valid"),
    ],
)
def test_opsgenie_auth(og: OpsgenieReceiver, headers: dict[str, str], status: int) -> None:
    response = http.post(f"{og.url}/v2/alerts", json={"message": "m"}, headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"message": "m" * 131}, "message", id="message-131"),
        pytest.param({"message": ""}, "message", id="message-empty"),
        pytest.param({"alias": "a"}, "<body>", id="message-missing"),
        pytest.param({"message": "m", "alias": "a" * 513}, "alias", id="alias-513"),
        pytest.param(
            {"message": "m", "description": "d" * 15001}, "description", id="description-15001"
        ),
        pytest.param({"message": "m", "tags": [f"t{i}" for i in range(21)]}, "tags", id="tags-21"),
        pytest.param({"message": "m", "tags": ["t" * 51]}, "tags.0", id="tag-51"),
        pytest.param(
            {"message": "m", "details": {"k": "v" * 8000}}, "details", id="details-8001-total"
        ),
        pytest.param({"message": "m", "details": {"k": 1}}, "details.k", id="details-not-string"),
        pytest.param({"message": "m", "priority": "P6"}, "priority", id="priority-p6"),
        pytest.param({"message": "m", "source": "s" * 101}, "source", id="source-101"),
        pytest.param(
            {"message": "m", "responders": [{"type": "team"}]},
            "responders.0",
            id="responder-without-id",
        ),
    ],
)
def test_opsgenie_create_limits(og: OpsgenieReceiver, body: dict[str, Any], field: str) -> None:
    response = http.post(f"{og.url}/v2/alerts", json=body, headers=AUTH)
    assert response.status_code == 422
    answer = response.json()
    assert answer["message"] == "Request body is not valid"
    assert field in answer["errors"], answer["errors"]
    assert "requestId" in answer


def test_opsgenie_unparseable(og: OpsgenieReceiver) -> None:
    response = http.post(f"{og.url}/v2/alerts", content=b"{", headers=AUTH)
    assert response.status_code == 400


def test_opsgenie_async_and_alias_semantics() -> None:
    with OpsgenieReceiver(api_keys=[GENIE_KEY]) as r:

        def status(response: httpx.Response) -> dict[str, Any]:
            assert response.status_code == 202
            assert response.json()["result"] == "Request will be processed"
            rid = response.json()["requestId"]
            answer = http.get(f"{r.url}/v2/alerts/requests/{rid}", headers=AUTH)
            data: dict[str, Any] = answer.json()["data"]
            return data

        def create(priority: str) -> httpx.Response:
            body = {"message": "m", "alias": "ep", "priority": priority}
            return http.post(f"{r.url}/v2/alerts", json=body, headers=AUTH)

        assert status(create("P3"))["status"] == "Created alert"
        status(create("P1"))
        status(create("P2"))
        assert len(r.alerts) == 1
        assert (r.alerts[0].count, r.alerts[0].priority) == (3, "P1")
        # close by alias WITHOUT identifierType: looked up as an id, not found, still 202
        wrong = status(http.post(f"{r.url}/v2/alerts/ep/close", json={}, headers=AUTH))
        assert wrong["isSuccess"] is False
        assert wrong["status"] == "Alert does not exist"
        assert r.alerts[0].open
        bad_type = http.post(f"{r.url}/v2/alerts/ep/close?identifierType=name", headers=AUTH)
        assert bad_type.status_code == 422
        right = status(
            http.post(f"{r.url}/v2/alerts/ep/close?identifierType=alias", json={}, headers=AUTH)
        )
        assert right["isSuccess"] is True
        assert not r.alerts[0].open
        status(create("P3"))  # a closed alias opens a new alert
        assert [a.status for a in r.alerts] == ["closed", "open"]
        prio = http.put(
            f"{r.url}/v2/alerts/ep/priority?identifierType=alias",
            json={"priority": "P7"},
            headers=AUTH,
        )
        assert prio.status_code == 422
        jsm = http.put(
            f"{r.url}/jsm/ops/integration/v2/alerts/ep/priority?identifierType=alias",
            json={"priority": "P1"},
            headers=AUTH,
        )
        assert jsm.status_code == 404  # JSM's integration API has no priority endpoint


# --- Standard Webhooks ----------------------------------------------------------------------
NOW = 1_700_000_000


def signed(
    body: bytes, *, msg_id: str = "msg_1", ts: int = NOW, key: bytes = KEY_BYTES
) -> dict[str, str]:
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


GENERIC = json.dumps(
    {
        "type": "incident.declared",
        "timestamp": "2023-11-14T22:13:20Z",
        "data": {
            "event_id": "e1",
            "episode_id": "ep",
            "status": "declared",
            "severity": "SEV1",
            "previous_severity": None,
            "title": "t",
            "slo": "s",
            "service": "svc",
            "owner": {},
            "labels": {},
            "objective_percent": 99.9,
            "period": "30d",
            "burn_rates": {"1h": 14.6},
            "thresholds": {},
            "error_budget_remaining": 0.5,
            "time_to_exhaustion_seconds": None,
            "runbook_url": "",
            "dashboard_url": "",
            "evaluated_at": "2023-11-14T22:13:20Z",
        },
    }
).encode()


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=WEBHOOK_SECRET, clock=lambda: NOW) as r:
        yield r


def _drop(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        pytest.param(_drop(signed(GENERIC), "webhook-id"), GENERIC, 400, "missing", id="no-id"),
        pytest.param(
            _drop(signed(GENERIC), "webhook-timestamp"), GENERIC, 400, "missing", id="no-timestamp"
        ),
        pytest.param(
            _drop(signed(GENERIC), "webhook-signature"), GENERIC, 400, "missing", id="no-signature"
        ),
        pytest.param(
            signed(GENERIC, msg_id="a.b"), GENERIC, 400, "must not contain '.'", id="dot-in-id"
        ),
        pytest.param(signed(GENERIC, ts=NOW - 301), GENERIC, 400, "too old", id="stale-timestamp"),
        pytest.param(signed(GENERIC, ts=NOW + 301), GENERIC, 400, "too new", id="future-timestamp"),
        pytest.param(
            signed(GENERIC, key=b"x" * 32), GENERIC, 401, "no matching signature", id="wrong-key"
        ),
        pytest.param(
            signed(GENERIC), GENERIC + b" ", 401, "no matching signature", id="body-changed"
        ),
        pytest.param(
            signed(GENERIC) | {"webhook-signature": "v1a,AAAA v2,BBBB"},
            GENERIC,
            401,
            "no matching",
            id="only-unknown-versions",
        ),
        pytest.param(
            signed(b'{"type": "x"}'), b'{"type": "x"}', 422, "invalid body", id="body-off-schema"
        ),
    ],
)
def test_webhook_refuses(
    hook: WebhookReceiver, headers: dict[str, str], body: bytes, status: int, error: str
) -> None:
    response = http.post(hook.url + "/hook", content=body, headers=headers)
    assert response.status_code == status
    assert error in response.text


@pytest.mark.parametrize(
    "ts", [pytest.param(NOW - 300, id="300s-old"), pytest.param(NOW + 300, id="300s-ahead")]
)
def test_webhook_accepts_within_tolerance_and_once_per_id(hook: WebhookReceiver, ts: int) -> None:
    headers = signed(GENERIC, ts=ts)
    multi = headers | {"webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    assert http.post(hook.url, content=GENERIC, headers=multi).status_code == 200
    again = http.post(hook.url, content=GENERIC, headers=signed(GENERIC, ts=ts))
    assert again.json()["status"] == "duplicate"
    assert len(hook.events) == 1
    assert [a.outcome for a in hook.arrivals] == ["accepted", "duplicate"]


def test_webhook_bearer_token_required_when_configured() -> None:
    with WebhookReceiver(secret=None, preset="incident_io", auth_token="tok-123") as r:
        body = json.dumps({"title": "t", "status": "firing", "deduplication_key": "k"}).encode()
        assert http.post(r.url, content=body).status_code == 401
        ok = http.post(r.url, content=body, headers={"Authorization": "Bearer tok-123"})
        assert ok.status_code == 202
        assert ok.json()["deduplication_key"] == "k"


# --- Slack ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sl() -> Iterator[SlackReceiver]:
    with SlackReceiver() as r:
        yield r


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        pytest.param("/services/T/B/wrong", {"text": "t"}, 404, "no_service", id="wrong-url"),
        pytest.param(None, b"{", 400, "invalid_payload", id="not-json"),
        pytest.param(None, {}, 400, "no_text", id="no-text"),
        pytest.param(
            None,
            {"text": "t", "blocks": [section("x")] * 51},
            400,
            "invalid_blocks",
            id="51-blocks",
        ),
        pytest.param(None, {"blocks": [header("h" * 151)]}, 400, "invalid_blocks", id="header-151"),
        pytest.param(
            None,
            {"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]},
            400,
            "invalid_blocks",
            id="header-mrkdwn",
        ),
        pytest.param(
            None, {"blocks": [section("s" * 3001)]}, 400, "invalid_blocks", id="section-3001"
        ),
        pytest.param(
            None,
            {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]},
            400,
            "invalid_blocks",
            id="fields-11",
        ),
        pytest.param(
            None,
            {"text": "t", "blocks": [header("h" * 150), section("s" * 3000)]},
            200,
            "ok",
            id="at-the-limits",
        ),
    ],
)
def test_slack_contract(
    sl: SlackReceiver, path: str | None, body: bytes | dict[str, Any], status: int, code: str
) -> None:
    url = sl.url + (path or sl.path)
    response = (
        http.post(url, content=body) if isinstance(body, bytes) else http.post(url, json=body)
    )
    assert response.status_code == status
    assert response.text == code
    assert response.headers["content-type"].startswith("text/plain")


# --- faults ---------------------------------------------------------------------------------
def test_faults_fail_then_recover_and_record_everything() -> None:
    with SlackReceiver() as r:
        r.fail(2, status=429, retry_after=7)
        first = http.post(r.webhook_url, json={"text": "a"})
        second = http.post(r.webhook_url, json={"text": "a"})
        third = http.post(r.webhook_url, json={"text": "a"})
        assert (first.status_code, first.headers["retry-after"]) == (429, "7")
        assert second.status_code == 429
        assert third.status_code == 200
        assert [a.outcome for a in r.arrivals] == ["fault:429", "fault:429", "accepted"]
        assert len(r.messages) == 1
        assert all(a.at <= time.time() for a in r.arrivals)


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_faults_drop_and_reset(fault: str) -> None:
    with SlackReceiver() as r:
        getattr(r, fault)(1)
        with pytest.raises(httpx.TransportError):
            http.post(r.webhook_url, json={"text": "a"})
        assert http.post(r.webhook_url, json={"text": "a"}).status_code == 200
        assert [a.outcome for a in r.arrivals] == [f"fault:{fault}", "accepted"]
        assert r.messages == [{"text": "a"}]


def test_down_and_up_on_the_same_port() -> None:
    with SlackReceiver() as r:
        url = r.webhook_url
        r.down()
        with pytest.raises(httpx.ConnectError):
            http.post(url, json={"text": "a"})
        r.up()
        assert http.post(url, json={"text": "a"}).status_code == 200


def test_demo_runner_prints_one_line_per_arrival() -> None:
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.receivers"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        pd_line = next(line for line in lines if line.startswith("pagerduty"))
        match = re.search(r"url: (\S+)  routing key: (\S+)", pd_line)
        assert match is not None
        url, key = match.groups()
        response = http.post(url, json=pd_trigger(routing_key=key))
        assert response.status_code == 202
        arrival = proc.stdout.readline()
        assert re.match(r"\d\d:\d\d:\d\d pagerduty +POST /v2/enqueue -> 202 accepted$", arrival)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_request_cut_short_by_its_client_is_not_an_arrival(pd: PagerDutyReceiver) -> None:
    """A client killed while sending its body never made a request: a real service drops the
    connection and processes nothing, so the fake neither records nor handles it."""
    before = len(pd.arrivals)
    body = json.dumps(pd_trigger(dedup_key="cut-short")).encode()
    head = (
        f"POST /v2/enqueue HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", pd.port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""  # closed without an answer
    assert pd.aborted == 1
    assert len(pd.arrivals) == before
    reply = http.post(f"{pd.url}/v2/enqueue", json=pd_trigger(dedup_key="cut-short"))
    assert reply.status_code == 202  # the whole request, sent again, is handled
