"""Incident webhook: one JSON event per transition, signed per Standard Webhooks 1.0.

Contract: ``harness/contracts/standard-webhooks/`` (spec, test vectors). Headers:

- ``webhook-id``: the notification's ``event_id``, identical on every retry, so the receiver
  can drop repeats (it is the idempotency key);
- ``webhook-timestamp``: Unix seconds of *this* attempt (receivers reject > 5 min skew);
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed
  with the base64-decoded part of a ``whsec_`` secret.

Bodies (``preset``): ``generic`` (sloguard's own, documented in docs/notifiers.md),
``incident_io`` (HTTP alert source event), ``rootly`` (generic webhook alert source, with
field paths to map), ``firehydrant`` (Signals event data model). The vendor presets can also
send ``Authorization: Bearer <token>`` (``auth_token_file``/``auth_token_env``); the signature
is sent whenever a secret is configured and is required for ``generic``.

Retry: 408, 425, 429 and 5xx and network errors are retried (honouring ``Retry-After``);
other 4xx are permanent. Standard Webhooks suggests retrying every failure; sloguard does not
retry a body the receiver refused, because the same body would be refused again, and a dead
letter is visible where an endless retry is not. 3xx is permanent (redirects not followed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from sloguard.durations import iso_time
from sloguard.errors import ConfigError, Location, Problem
from sloguard.notify._text import alert_key, details_markdown, headline, truncate
from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.records import Kind, Notification

Preset = Literal["generic", "incident_io", "rootly", "firehydrant"]

EVENT_TYPES: dict[Kind, str] = {
    Kind.DECLARED: "incident.declared",
    Kind.ESCALATED: "incident.escalated",
    Kind.RESOLVED: "incident.resolved",
    Kind.STALE: "slo.evaluation_stale",
    # Budget events go to generic webhooks only (config validation refuses the presets).
    Kind.BUDGET_THRESHOLD_CROSSED: Kind.BUDGET_THRESHOLD_CROSSED.value,
    Kind.BUDGET_EXHAUSTED: Kind.BUDGET_EXHAUSTED.value,
    Kind.BUDGET_RECOVERED: Kind.BUDGET_RECOVERED.value,
}
SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)  # nosec B105
SECRET_BYTES_MIN, SECRET_BYTES_MAX = 24, 64
FIREHYDRANT_LEVEL = {"SEV1": "FATAL", "SEV2": "ERROR", "SEV3": "WARN"}
FIREHYDRANT_PRIORITY = {"SEV1": "HIGH", "SEV2": "HIGH", "SEV3": "LOW"}
FIREHYDRANT_KEY_MAX = 255
FIREHYDRANT_SUMMARY_MAX = 255
KEY_MAX = 255  # the presets' dedup keys (incident.io, Rootly)


class WebhookConfig(NotifierConfigBase):
    """``type: webhook``. The URL is given in clear (``url``) or, when it carries a token, from
    ``url_file``/``url_env``; the signing secret from ``secret_file``/``secret_env``."""

    type: Literal["webhook"]
    preset: Preset = "generic"
    url: str | None = Field(default=None, pattern=r"^https?://")
    url_file: str | None = None
    url_env: str | None = None
    secret_file: str | None = None
    secret_env: str | None = None
    auth_token_file: str | None = None
    auth_token_env: str | None = None

    @model_validator(mode="after")
    def _check(self) -> WebhookConfig:
        if sum(bool(x) for x in (self.url, self.url_file, self.url_env)) != 1:
            raise ValueError("give exactly one of url, url_file or url_env")
        if self.preset == "generic" and not (self.secret_file or self.secret_env):
            raise ValueError(
                "the generic preset is signed: set secret_file or secret_env (a whsec_ secret)"
            )
        return self


def decode_secret(secret: str, *, where: Location | None = None) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret. Errors never quote the secret."""
    loc = where or Location("<config>")
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigError(Problem(loc, "webhook secret: must start with 'whsec_'"))
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            Problem(loc, "webhook secret: the part after 'whsec_' is not valid base64")
        ) from None
    if not SECRET_BYTES_MIN <= len(key) <= SECRET_BYTES_MAX:
        raise ConfigError(
            Problem(
                loc,
                f"webhook secret: decodes to {len(key)} bytes; Standard Webhooks wants "
                f"{SECRET_BYTES_MIN} to {SECRET_BYTES_MAX}",
            )
        )
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256("{msg_id}.{timestamp}.{body}")>`` (Standard Webhooks v1)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_id(notification: Notification) -> str:
    """The event id, stable across retries. The spec forbids '.' in it (it delimits the signed
    content), so dots become dashes: deterministic, hence still stable."""
    return notification.event_id.replace(".", "-")


def _generic(n: Notification) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": n.event_id,
        "episode_id": n.episode_id,
        "status": n.kind.value,
        "severity": n.severity,
        "previous_severity": n.previous_severity,
        "title": headline(n),
        "summary": n.summary,
        "description": n.description,
        "slo": n.slo,
        "service": n.service,
        "owner": dict(n.owner),
        "labels": dict(n.labels),
        "objective_percent": n.objective_percent,
        "period": n.period,
        "burn_rates": dict(n.burn_rates),
        "thresholds": dict(n.thresholds),
        "error_budget_remaining": n.error_budget_remaining,
        "time_to_exhaustion_seconds": n.time_to_exhaustion_seconds,
        "runbook_url": n.runbook_url,
        "dashboard_url": n.dashboard_url,
        "evaluated_at": iso_time(n.at),
        "runbook": {k: list(v) for k, v in n.runbook.items()},
        "roles": dict(n.roles),
        "bridge_url": n.bridge_url,
        "incident_channel": n.incident_channel,
    }
    if n.kind is Kind.RESOLVED:
        data["postmortem_markdown"] = n.postmortem_markdown
    if n.kind.budget:
        data["threshold_percent"] = n.threshold_percent
    return {"type": EVENT_TYPES[n.kind], "timestamp": iso_time(n.at), "data": data}


def _metadata(n: Notification) -> dict[str, Any]:
    return {
        "event_type": EVENT_TYPES[n.kind],
        "severity": n.severity,
        "previous_severity": n.previous_severity,
        "slo": n.slo,
        "service": n.service,
        **{f"owner_{k}": v for k, v in n.owner.items()},
        "labels": dict(n.labels),
        "burn_rates": dict(n.burn_rates),
        "error_budget_remaining": n.error_budget_remaining,
        "time_to_exhaustion_seconds": n.time_to_exhaustion_seconds,
        "objective_percent": n.objective_percent,
        "period": n.period,
        "runbook_url": n.runbook_url,
        "dashboard_url": n.dashboard_url,
        "episode_id": n.episode_id,
    }


def _incident_io(n: Notification) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": headline(n),
        "description": details_markdown(n),
        "deduplication_key": alert_key(n, KEY_MAX),
        "status": "resolved" if n.kind is Kind.RESOLVED else "firing",
        "metadata": _metadata(n),
    }
    if n.dashboard_url or n.runbook_url:
        body["source_url"] = n.dashboard_url or n.runbook_url
    return body


def _rootly(n: Notification) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": headline(n),
        "description": details_markdown(n),
        "external_id": alert_key(n, KEY_MAX),
        "state": "resolved" if n.kind is Kind.RESOLVED else "triggered",
        "severity": n.severity,
        "labels": _metadata(n),
    }
    if n.dashboard_url or n.runbook_url:
        body["external_url"] = n.dashboard_url or n.runbook_url
    return body


def _firehydrant(n: Notification) -> dict[str, Any]:
    resolved = n.kind is Kind.RESOLVED
    level = "WARN" if n.kind is Kind.STALE else FIREHYDRANT_LEVEL.get(n.severity, "ERROR")
    priority = "LOW" if n.kind is Kind.STALE else FIREHYDRANT_PRIORITY.get(n.severity, "HIGH")
    tags = [f"service:{n.service}", f"slo:{n.slo}", f"severity:{n.severity}"]
    tags += [f"{k}:{v}" for k, v in {**n.labels, **n.owner}.items()]
    links = [
        {"href": url, "text": text}
        for url, text in ((n.runbook_url, "Runbook"), (n.dashboard_url, "Dashboard"))
        if url
    ]
    return {
        "summary": truncate(headline(n), FIREHYDRANT_SUMMARY_MAX),
        "body": details_markdown(n),
        "status": "CLOSED" if resolved else "OPEN",
        "level": "INFO" if resolved else level,
        "idempotency_key": alert_key(n, FIREHYDRANT_KEY_MAX),
        "tags": tags,
        "links": links,
        "annotations": {
            "signals.firehydrant.com/notification-priority": priority,
            "sloguard/event-type": EVENT_TYPES[n.kind],
            "sloguard/episode-id": n.episode_id,
        },
    }


_BUILDERS: dict[str, Callable[[Notification], dict[str, Any]]] = {
    "generic": _generic,
    "incident_io": _incident_io,
    "rootly": _rootly,
    "firehydrant": _firehydrant,
}


def build_payload(notification: Notification, config: WebhookConfig) -> dict[str, Any]:
    """The JSON body for ``config.preset``."""
    return _BUILDERS[config.preset](notification)


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def build_headers(
    notification: Notification, body: bytes, *, key: bytes | None, now: float
) -> dict[str, str]:
    """Standard Webhooks headers for one attempt (the timestamp is the attempt's)."""
    headers = {"Content-Type": "application/json", "User-Agent": "sloguard"}
    msg_id = webhook_id(notification)
    timestamp = int(now)
    headers["webhook-id"] = msg_id
    headers["webhook-timestamp"] = str(timestamp)
    if key is not None:
        headers["webhook-signature"] = sign(key, msg_id, timestamp, body)
    return headers


class WebhookNotifier(HttpNotifier[WebhookConfig]):
    integration = "webhook"

    def __init__(
        self,
        config: WebhookConfig,
        client: httpx.AsyncClient,
        *,
        url: str,
        secret: str | None,
        auth_token: str | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        url_is_secret = config.url is None
        super().__init__(
            config,
            client,
            secrets=[secret, auth_token],
            secret_url=url if url_is_secret else None,
            shown={"preset": config.preset, "url": "<secret>" if url_is_secret else url},
            now=now,
        )
        self._url = url
        self._key = decode_secret(secret) if secret is not None else None
        self._auth = f"Bearer {auth_token}" if auth_token else None

    async def _deliver(self, notification: Notification) -> None:
        body = encode(build_payload(notification, self._config))
        headers = build_headers(notification, body, key=self._key, now=self._now())
        if self._auth:
            headers["Authorization"] = self._auth
        what = f"{EVENT_TYPES[notification.kind]} {webhook_id(notification)}"
        await self._request("POST", self._url, what, content=body, headers=headers)
