"""Pure payload builders: severity mappings, the headline, limits and truncation, presets; and
every body validates against the vendor contract the receivers enforce."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from harness.receivers._contracts import load, validator
from harness.receivers._server import schema_errors
from sloguard.durations import human_duration
from sloguard.notify import (
    NotifierConfig,
    OpsgenieConfig,
    PagerDutyConfig,
    SlackConfig,
    WebhookConfig,
    _text,
    opsgenie,
    pagerduty,
    slack,
    webhook,
)
from sloguard.records import Kind, Notification
from tests.support.notify import notification

PD = PagerDutyConfig(type="pagerduty", name="pd", routing_key_env="PD_KEY")
OG = OpsgenieConfig(type="opsgenie", name="og", api_key_env="OG_KEY")
SL = SlackConfig(type="slack", name="sl", url_env="SLACK_URL")
# What the pagers hear: a de-escalation goes only to the incident notifiers (SEVERITY_FOLLOWERS).
ALL_KINDS = [pytest.param(k, id=k.value) for k in Kind if k is not Kind.DEESCALATED]


def wh(preset: str) -> WebhookConfig:
    return WebhookConfig(
        type="webhook", name="wh", preset=preset, url="https://x.example", secret_env="S"
    )


# --- the headline an engineer reads ---------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "expected"),
    [
        pytest.param(
            notification(),
            "SEV1 checkout-availability burning 14.6x, 2.0% budget gone in 1h, "
            "budget exhausted in 2h, 71% left",
            id="declared-sev1",
        ),
        pytest.param(
            notification(severity="SEV2"),
            "SEV2 checkout-availability burning 3.2x over 6h (15.1x over 5m), 2.7% budget gone "
            "in 6h, budget exhausted in 2h at the 5m rate, 71% left",
            id="declared-sev2-uses-its-own-tier-and-says-which-rate-exhausts",
        ),
        pytest.param(
            notification(Kind.ESCALATED, previous_severity="SEV2"),
            "SEV2→SEV1 checkout-availability burning 14.6x, 2.0% budget gone in 1h, "
            "budget exhausted in 2h, 71% left",
            id="escalated",
        ),
        pytest.param(
            notification(Kind.RESOLVED, time_to_exhaustion_seconds=None),
            "Resolved: checkout-availability is no longer burning (peaked at SEV1), 71% left",
            id="resolved",
        ),
        pytest.param(
            notification(Kind.STALE, summary="no data for 15m"),
            "Stale: checkout-availability cannot be evaluated while its SEV1 episode is open "
            "(no data for 15m)",
            id="stale",
        ),
        pytest.param(
            notification(error_budget_remaining=-0.2),
            "SEV1 checkout-availability burning 14.6x, 2.0% budget gone in 1h, "
            "error budget exhausted",
            id="budget-already-gone",
        ),
        pytest.param(
            notification(burn_rates={}, summary="burning fast"),
            "SEV1 checkout-availability: burning fast",
            id="no-burn-rates-falls-back-to-engine-summary",
        ),
        pytest.param(
            notification(thresholds={}, burn_rates={"5m": 20.0, "1h": 16.0}),
            "SEV1 checkout-availability burning 20.0x, 0.2% budget gone in 5m, "
            "budget exhausted in 2h, 71% left",
            id="no-threshold-uses-worst-window",
        ),
        pytest.param(
            notification(burn_rates={"5m": 1000.0, "1h": 333.7}, time_to_exhaustion_seconds=30),
            "SEV1 checkout-availability burning 334x over 1h (1000x over 5m), 46% budget gone "
            "in 1h, budget exhausted in 30s at the 5m rate, 71% left",
            id="full-outage-exhaustion-follows-the-current-5m-rate",
        ),
        pytest.param(
            notification(
                severity="SEV3",
                thresholds={"SEV3 1d/2h": 3.0, "SEV3 3d/6h": 1.0},
                burn_rates={"2h": 1.5, "1d": 1.2, "6h": 1.4, "3d": 1.1},
            ),
            "SEV3 checkout-availability burning 1.1x, 11% budget gone in 3d, "
            "budget exhausted in 2h, 71% left",
            id="two-tiers-of-one-severity-quotes-the-one-that-fires",
        ),
    ],
)
def test_headline(n: Notification, expected: str) -> None:
    assert _text.headline(n) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(59, "59s", id="seconds"),
        pytest.param(3600, "1h", id="hour"),
        pytest.param(7260, "2h1m", id="hour-minute"),
        pytest.param(3 * 86400 + 4 * 3600 + 60, "3d4h", id="two-units-only"),
        pytest.param(0, "0s", id="zero"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("abc", 3, "abc", id="fits"),
        pytest.param("abcd", 3, "ab…", id="cut-with-ellipsis"),
        pytest.param("abcd", 0, "", id="zero"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert _text.truncate(text, limit) == expected


def test_bounded_key_keeps_distinct_long_keys_distinct() -> None:
    a, b = "x" * 300 + "a", "x" * 300 + "b"
    ka, kb = _text.bounded_key(a, 255), _text.bounded_key(b, 255)
    assert len(ka) == len(kb) == 255
    assert ka != kb
    assert _text.bounded_key("short", 255) == "short"


# --- PagerDuty ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "severity", "config", "expected"),
    [
        pytest.param(Kind.DECLARED, "SEV1", PD, "critical", id="sev1-critical"),
        pytest.param(Kind.DECLARED, "SEV2", PD, "error", id="sev2-error"),
        pytest.param(Kind.DECLARED, "SEV3", PD, "warning", id="sev3-warning"),
        pytest.param(Kind.ESCALATED, "SEV1", PD, "critical", id="escalated-sev1"),
        pytest.param(Kind.STALE, "SEV1", PD, "warning", id="stale-warning"),
        pytest.param(
            Kind.DECLARED,
            "SEV3",
            PD.model_copy(update={"severity_map": {"SEV3": "info"}}),
            "info",
            id="configured-sev3-info",
        ),
        pytest.param(
            Kind.DECLARED,
            "SEV1",
            PD.model_copy(update={"severity_map": {"SEV3": "info"}}),
            "critical",
            id="partial-map-keeps-defaults",
        ),
        pytest.param(
            Kind.STALE,
            "SEV1",
            PD.model_copy(update={"stale_severity": "info"}),
            "info",
            id="configured-stale",
        ),
    ],
)
def test_pagerduty_severity(
    kind: Kind, severity: str, config: PagerDutyConfig, expected: str
) -> None:
    body = pagerduty.build_payload(notification(kind, severity=severity), config)
    assert body["payload"]["severity"] == expected


@pytest.mark.parametrize(
    ("kind", "action", "dedup"),
    [
        pytest.param(Kind.DECLARED, "trigger", "E", id="declared-trigger"),
        pytest.param(Kind.ESCALATED, "trigger", "E", id="escalated-retriggers-same-key"),
        pytest.param(Kind.RESOLVED, "resolve", "E", id="resolved-resolve"),
        pytest.param(Kind.STALE, "trigger", "E:stale", id="stale-own-key"),
    ],
)
def test_pagerduty_actions_and_keys(kind: Kind, action: str, dedup: str) -> None:
    body = pagerduty.build_payload(notification(kind, episode_id="E"), PD)
    assert body["event_action"] == action
    assert body["dedup_key"] == dedup
    assert "routing_key" not in body  # the secret is added only when sending


def test_pagerduty_trigger_content() -> None:
    body = pagerduty.build_payload(notification(), PD)
    details = body["payload"]["custom_details"]
    assert details["burn_rates"]["1h"] == 14.6
    assert details["thresholds"]["SEV1 1h/5m"] == 14.4
    assert details["error_budget_remaining"] == 0.71
    assert details["objective_percent"] == 99.9
    assert details["period"] == "30d"
    assert body["links"] == [
        {"href": "https://runbooks.example.com/checkout", "text": "Runbook"},
        {
            "href": "https://grafana.example.com/d/slo?var-slo=checkout-availability",
            "text": "Dashboard",
        },
    ]
    assert body["payload"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert body["payload"]["group"] == "payments"


def test_pagerduty_summary_and_key_limits() -> None:
    n = notification(slo="s" * 2000, episode_id="e" * 400)
    body = pagerduty.build_payload(n, PD)
    assert len(body["payload"]["summary"]) == 1024
    assert body["payload"]["summary"].endswith("…")
    assert len(body["dedup_key"]) == 255


# --- Opsgenie -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "severity", "config", "expected"),
    [
        pytest.param(Kind.DECLARED, "SEV1", OG, "P1", id="sev1-p1"),
        pytest.param(Kind.DECLARED, "SEV2", OG, "P2", id="sev2-p2"),
        pytest.param(Kind.DECLARED, "SEV3", OG, "P3", id="sev3-p3"),
        pytest.param(Kind.STALE, "SEV1", OG, "P3", id="stale-p3"),
        pytest.param(
            Kind.DECLARED,
            "SEV3",
            OG.model_copy(update={"priority_map": {"SEV3": "P4"}}),
            "P4",
            id="configured",
        ),
    ],
)
def test_opsgenie_priority(
    kind: Kind, severity: str, config: OpsgenieConfig, expected: str
) -> None:
    assert (
        opsgenie.build_payload(notification(kind, severity=severity), config)["priority"]
        == expected
    )


def test_opsgenie_limits_are_kept_with_huge_input() -> None:
    n = notification(
        slo="s" * 500,
        description="d" * 20000,
        labels={f"label{i}": "v" * 900 for i in range(40)},
    )
    config = OG.model_copy(update={"tags": [f"t{i}" * 30 for i in range(30)]})
    body = opsgenie.build_payload(n, config)
    assert len(body["message"]) == 130
    assert len(body["description"]) <= 15000
    assert len(body["tags"]) == 20
    assert all(len(t) <= 50 for t in body["tags"])
    assert sum(len(k) + len(v) for k, v in body["details"].items()) <= 8000
    assert body["details"]["slo"].startswith("sss")  # the first facts survive
    assert body["details"]["severity"] == "SEV1"
    assert schema_errors(validator("opsgenie/create-alert.limits.schema.json"), body) == []


@pytest.mark.parametrize(
    ("config", "base"),
    [
        pytest.param(OG, "https://api.opsgenie.com", id="us"),
        pytest.param(
            OG.model_copy(update={"region": "eu"}), "https://api.eu.opsgenie.com", id="eu"
        ),
        pytest.param(
            OG.model_copy(update={"api": "jsm"}),
            "https://api.atlassian.com/jsm/ops/integration",
            id="jsm",
        ),
        pytest.param(
            OG.model_copy(update={"url": "http://127.0.0.1:1/"}),
            "http://127.0.0.1:1",
            id="override",
        ),
    ],
)
def test_opsgenie_base_url(config: OpsgenieConfig, base: str) -> None:
    assert config.base_url() == base
    contract = load("opsgenie/contract.json")
    if config.url is None and config.api == "opsgenie":
        assert base == contract["base_urls"]["default" if config.region == "us" else "eu"]


def test_opsgenie_alias_and_paths() -> None:
    assert opsgenie.alias(notification(episode_id="a/b")) == "a/b"
    assert opsgenie.alias(notification(Kind.STALE, episode_id="a")) == "a:stale"
    assert opsgenie.alert_path("a/b c", "close") == "/v2/alerts/a%2Fb%20c/close"


# --- webhook --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "event_type"),
    [
        pytest.param(Kind.DECLARED, "incident.declared", id="declared"),
        pytest.param(Kind.ESCALATED, "incident.escalated", id="escalated"),
        pytest.param(Kind.RESOLVED, "incident.resolved", id="resolved"),
        pytest.param(Kind.STALE, "slo.evaluation_stale", id="stale"),
    ],
)
def test_webhook_generic_types(kind: Kind, event_type: str) -> None:
    n = notification(kind, previous_severity="SEV2" if kind is Kind.ESCALATED else None)
    body = webhook.build_payload(n, wh("generic"))
    assert body["type"] == event_type
    assert body["data"]["severity"] == "SEV1"
    assert ("postmortem_markdown" in body["data"]) is (kind is Kind.RESOLVED)


@pytest.mark.parametrize(
    ("preset", "kind", "fields"),
    [
        pytest.param(
            "incident_io",
            Kind.DECLARED,
            {"status": "firing", "deduplication_key": "E"},
            id="incident_io-firing",
        ),
        pytest.param(
            "incident_io",
            Kind.RESOLVED,
            {"status": "resolved", "deduplication_key": "E"},
            id="incident_io-resolved",
        ),
        pytest.param(
            "incident_io",
            Kind.STALE,
            {"status": "firing", "deduplication_key": "E:stale"},
            id="incident_io-stale",
        ),
        pytest.param(
            "rootly",
            Kind.DECLARED,
            {"state": "triggered", "external_id": "E", "severity": "SEV1"},
            id="rootly-triggered",
        ),
        pytest.param(
            "rootly", Kind.RESOLVED, {"state": "resolved", "external_id": "E"}, id="rootly-resolved"
        ),
        pytest.param(
            "firehydrant",
            Kind.DECLARED,
            {"status": "OPEN", "level": "FATAL", "idempotency_key": "E"},
            id="firehydrant-sev1",
        ),
        pytest.param(
            "firehydrant",
            Kind.RESOLVED,
            {"status": "CLOSED", "level": "INFO"},
            id="firehydrant-closed",
        ),
        pytest.param(
            "firehydrant",
            Kind.STALE,
            {"status": "OPEN", "level": "WARN", "idempotency_key": "E:stale"},
            id="firehydrant-stale",
        ),
    ],
)
def test_webhook_presets(preset: str, kind: Kind, fields: dict[str, str]) -> None:
    body = webhook.build_payload(notification(kind, episode_id="E"), wh(preset))
    assert {k: body[k] for k in fields} == fields


def test_firehydrant_levels_and_summary_limit() -> None:
    levels = [
        webhook.build_payload(notification(severity=s, slo="x" * 400), wh("firehydrant"))
        for s in ("SEV1", "SEV2", "SEV3")
    ]
    assert [b["level"] for b in levels] == ["FATAL", "ERROR", "WARN"]
    assert all(len(b["summary"]) == 255 for b in levels)
    priority = "signals.firehydrant.com/notification-priority"
    assert [b["annotations"][priority] for b in levels] == ["HIGH", "HIGH", "LOW"]


@pytest.mark.parametrize(
    "vector", load("standard-webhooks/test-vectors.json")["vectors"], ids=lambda v: v["webhook_id"]
)
def test_sign_matches_the_test_vectors(vector: dict[str, Any]) -> None:
    key = webhook.decode_secret(load("standard-webhooks/test-vectors.json")["secret"])
    signature = webhook.sign(
        key, vector["webhook_id"], int(vector["webhook_timestamp"]), vector["body"].encode()
    )
    assert signature == vector["webhook_signature"]


def test_headers_sign_the_exact_body() -> None:
    n = notification(event_id="ev.1")
    key = bytes(range(32))
    body = webhook.encode(webhook.build_payload(n, wh("generic")))
    headers = webhook.build_headers(n, body, key=key, now=1700000000.9)
    assert headers["webhook-id"] == "ev-1"  # '.' is not allowed in ids
    assert headers["webhook-timestamp"] == "1700000000"
    mac = hmac.new(key, b"ev-1.1700000000." + body, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
    assert json.loads(body)["data"]["event_id"] == "ev.1"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        pytest.param(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "must start with 'whsec_'",
            id="no-prefix",
        ),
        pytest.param("whsec_not*base64", "not valid base64", id="not-base64"),
        pytest.param("whsec_AAECAwQF", "decodes to 6 bytes", id="too-short"),
    ],
)
def test_decode_secret_rejects(secret: str, message: str) -> None:
    from sloguard.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        webhook.decode_secret(secret)
    assert message in str(info.value)
    assert secret not in str(info.value)


# --- Slack ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "header"),
    [
        pytest.param(
            Kind.DECLARED, ":rotating_light: SEV1 declared: checkout-availability", id="declared"
        ),
        pytest.param(
            Kind.ESCALATED,
            ":arrow_double_up: SEV2→SEV1 escalated: checkout-availability",
            id="escalated",
        ),
        pytest.param(
            Kind.RESOLVED, ":white_check_mark: SEV1 resolved: checkout-availability", id="resolved"
        ),
        pytest.param(
            Kind.STALE, ":grey_question: SEV1 evaluation stale: checkout-availability", id="stale"
        ),
    ],
)
def test_slack_header(kind: Kind, header: str) -> None:
    body = slack.build_payload(notification(kind, previous_severity="SEV2"), SL)
    assert body["blocks"][0]["text"]["text"] == header
    assert body["text"]


def test_slack_escapes_and_limits() -> None:
    n = notification(slo="a<b>&" + "x" * 5000, description="<!channel> " + "y" * 5000)
    body = slack.build_payload(n, SL)
    assert len(body["blocks"][0]["text"]["text"]) == 150
    section = body["blocks"][1]["text"]["text"]
    assert section.startswith("SEV1 a&lt;b&gt;&amp;")
    assert len(section) == 3000
    assert "<!channel>" not in json.dumps(body)
    assert schema_errors(validator("slack/incoming-webhook.limits.schema.json"), body) == []


# --- every body satisfies the contract the receivers enforce ---------------------------------
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_bodies_satisfy_contracts(kind: Kind) -> None:
    n = notification(kind, previous_severity="SEV2" if kind is Kind.ESCALATED else None)
    pd_body = {"routing_key": "a" * 32, **pagerduty.build_payload(n, PD)}
    assert (
        schema_errors(validator("pagerduty/events-v2-enqueue.request.schema.json"), pd_body) == []
    )
    if kind is not Kind.RESOLVED:
        og_body = opsgenie.build_payload(n, OG)
        assert schema_errors(validator("opsgenie/create-alert.limits.schema.json"), og_body) == []
    from harness.receivers.webhook import SCHEMAS

    for preset, schema in SCHEMAS.items():
        assert schema_errors(validator(schema), webhook.build_payload(n, wh(preset))) == [], preset
    sl_body = slack.build_payload(n, SL)
    assert schema_errors(validator("slack/incoming-webhook.limits.schema.json"), sl_body) == []


# --- config models --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"type": "pagerduty", "name": "pd", "routing_key": "x"},
            "Extra inputs",
            id="pd-inline-key-refused",
        ),
        pytest.param(
            {"type": "pagerduty", "name": "pd", "severity_map": {"SEV1": "Critical"}},
            "severity_map",
            id="pd-bad-severity",
        ),
        pytest.param(
            {"type": "opsgenie", "name": "og", "region": "ap"}, "region", id="og-bad-region"
        ),
        pytest.param(
            {"type": "opsgenie", "name": "og", "responders": [{"type": "team"}]},
            "id, name or username",
            id="og-responder-needs-id",
        ),
        pytest.param(
            {"type": "webhook", "name": "w", "url": "https://x"},
            "secret_file or secret_env",
            id="webhook-generic-needs-secret",
        ),
        pytest.param(
            {"type": "webhook", "name": "w", "secret_env": "S"},
            "exactly one of url",
            id="webhook-needs-url",
        ),
        pytest.param(
            {"type": "slack", "name": "s", "url_file": "a", "url_env": "b"},
            "exactly one",
            id="slack-one-url",
        ),
        pytest.param(
            {"type": "teams", "name": "t"},
            "does not match any of the expected tags",
            id="unknown-type",
        ),
    ],
)
def test_config_rejects(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(NotifierConfig).validate_python(data)
    assert message in str(info.value)


def test_config_union_picks_the_model() -> None:
    adapter = TypeAdapter(NotifierConfig)
    assert isinstance(
        adapter.validate_python({"type": "slack", "name": "s", "url_env": "U"}), SlackConfig
    )
    pd = adapter.validate_python({"type": "pagerduty", "name": "pd", "routing_key_env": "K"})
    assert isinstance(pd, PagerDutyConfig)
    assert pd.url == "https://events.pagerduty.com/v2/enqueue"
    assert pd.url == load("pagerduty/contract.json")["endpoints"]["alert_event"]["url"]
