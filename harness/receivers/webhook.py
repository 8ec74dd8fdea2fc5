"""A Standard Webhooks endpoint that verifies signatures like a careful consumer would.

- ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` are required (400 without);
  the id and timestamp must not contain ``.``; the timestamp must be within ``tolerance_seconds``
  (default 300, both directions, as the reference libraries do) of the receiver's clock (400);
  the signature must match one ``v1`` entry, computed by the reference ``standardwebhooks``
  library from the exact body bytes (401).
- Each ``webhook-id`` is processed once: a repeat answers 200 and is recorded as "duplicate".
- The body must match the preset's schema (``generic``: sloguard's own event schema; vendor
  presets: schemas written from incident.io, Rootly and FireHydrant docs); else 422.
- Incidents are tracked by the preset's dedup key: one open per key; a resolve closes it; an
  event for a closed key opens a new one.
- ``auth_token``: when set, ``Authorization: Bearer <token>`` is required too (401).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from harness.receivers._contracts import load, validator
from harness.receivers._server import Arrival, Clock, Receiver, Reply, schema_errors

_CONTRACT = load("standard-webhooks/contract.json")
DEFAULT_TOLERANCE_SECONDS = 300  # "reference libraries: 5 minutes in BOTH directions"
SCHEMAS = {
    "generic": "sloguard-webhook/incident-event.schema.json",
    "incident_io": "incident-platforms/incident-io.alert-event.schema.json",
    "rootly": "incident-platforms/rootly.generic-webhook.schema.json",
    "firehydrant": "incident-platforms/firehydrant.signals-event.schema.json",
}


@dataclass
class WebhookIncident:
    key: str
    status: str  # "open" | "resolved"
    severity: str
    title: str
    opened_at: float
    resolved_at: float | None = None
    severities: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status == "open"


def _view(preset: str, body: dict[str, Any]) -> tuple[str, bool, str, str]:
    """(dedup key, closes?, severity, title) of one event, per preset."""
    if preset == "generic":
        data = body["data"]
        stale = body["type"] == "slo.evaluation_stale"
        key = data["episode_id"] + (":stale" if stale else "")
        return key, body["type"] == "incident.resolved", data["severity"], data["title"]
    if preset == "incident_io":
        sev = str(body.get("metadata", {}).get("severity", ""))
        return body["deduplication_key"], body["status"] == "resolved", sev, body["title"]
    if preset == "rootly":
        sev = str(body.get("severity", ""))
        return body["external_id"], body["state"] == "resolved", sev, body["title"]
    sev = next((t.split(":", 1)[1] for t in body.get("tags", []) if t.startswith("severity:")), "")
    return body["idempotency_key"], body["status"] == "CLOSED", sev, body["summary"]


class WebhookReceiver(Receiver):
    service = "webhook"

    def __init__(
        self,
        *,
        secret: str | None,
        preset: str = "generic",
        auth_token: str | None = None,
        tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        if preset not in SCHEMAS:
            raise ValueError(f"preset must be one of {sorted(SCHEMAS)}")
        self.preset = preset
        self.auth_token = auth_token
        self.tolerance_seconds = tolerance_seconds
        self._webhook = Webhook(secret) if secret is not None else None
        self._schema = validator(SCHEMAS[preset])
        self.seen_ids: set[str] = set()
        self.events: list[dict[str, Any]] = []  # accepted bodies, in arrival order
        self.incidents: list[WebhookIncident] = []

    def open_incidents(self) -> list[WebhookIncident]:
        return [i for i in self.incidents if i.open]

    def _reject(self, arrival: Arrival, status: int, error: str) -> Reply:
        arrival.outcome = "rejected"
        arrival.errors.append(error)
        return Reply.json(status, {"error": error})

    def verify(self, arrival: Arrival) -> str | None:
        """The reason the signature headers are refused, or None when they verify."""
        h = arrival.headers
        msg_id, stamp, signature = (
            h.get("webhook-id"),
            h.get("webhook-timestamp"),
            h.get("webhook-signature"),
        )
        if not (msg_id and stamp and signature):
            return "missing webhook-id, webhook-timestamp or webhook-signature"
        if "." in msg_id or "." in stamp:
            return "webhook-id and webhook-timestamp must not contain '.'"
        if not stamp.isdigit():
            return "webhook-timestamp must be integer Unix seconds"
        skew = int(stamp) - self.clock()
        if skew < -self.tolerance_seconds:
            return "message timestamp too old"
        if skew > self.tolerance_seconds:
            return "message timestamp too new"
        assert self._webhook is not None
        when = datetime.fromtimestamp(int(stamp), tz=UTC)
        try:
            body = arrival.body.decode()
        except UnicodeDecodeError:
            return "body is not UTF-8"
        expected = base64.b64decode(self._webhook.sign(msg_id, when, body).split(",", 1)[1])
        for entry in signature.split(" "):
            version, _, value = entry.partition(",")
            if version != "v1":
                continue  # unknown versions are ignored, as the spec says
            try:
                given = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                continue
            if hmac.compare_digest(expected, given):
                return None
        return "no matching signature"

    def handle(self, arrival: Arrival) -> Reply:
        if arrival.method != "POST":
            return self._reject(arrival, 405, "POST only")
        if self.auth_token is not None:
            expected = f"Bearer {self.auth_token}"
            if not hmac.compare_digest(arrival.headers.get("authorization", ""), expected):
                return self._reject(arrival, 401, "missing or wrong bearer token")
        if self._webhook is not None:
            problem = self.verify(arrival)
            if problem is not None:
                status = 401 if problem == "no matching signature" else 400
                return self._reject(arrival, status, problem)
        msg_id = arrival.headers.get("webhook-id", "")
        if msg_id and msg_id in self.seen_ids:
            arrival.outcome = "duplicate"
            return Reply.json(200, {"status": "duplicate", "webhook_id": msg_id})
        try:
            body = json.loads(arrival.body)
        except (ValueError, UnicodeDecodeError):
            return self._reject(arrival, 400, "body is not JSON")
        errors = schema_errors(self._schema, body)
        if errors:
            arrival.outcome = "rejected"
            arrival.errors = errors
            return Reply.json(422, {"error": "invalid body", "errors": errors})
        if msg_id:
            self.seen_ids.add(msg_id)
        self.events.append(body)
        key = self._apply(arrival, body)
        arrival.outcome = "accepted"
        if self.preset == "incident_io":
            return Reply.json(
                202,
                {
                    "status": "success",
                    "message": "Event accepted for processing",
                    "deduplication_key": key,
                },
            )
        return Reply.json(200, {"status": "ok", "key": key})

    def _apply(self, arrival: Arrival, body: dict[str, Any]) -> str:
        key, closes, severity, title = _view(self.preset, body)
        current = next((i for i in reversed(self.incidents) if i.key == key and i.open), None)
        if closes:
            if current is not None:
                current.status, current.resolved_at = "resolved", arrival.at
                current.events.append(body)
            return key
        if current is None:
            current = WebhookIncident(key, "open", severity, title, arrival.at)
            self.incidents.append(current)
        current.severity, current.title = severity or current.severity, title
        current.severities.append(severity)
        current.events.append(body)
        return key


TOLERANCE_NOTE = _CONTRACT["verification"]["timestamp_tolerance"]
