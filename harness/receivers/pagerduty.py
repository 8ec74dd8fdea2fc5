"""A PagerDuty Events API v2 that enforces the contract in ``contracts/pagerduty/``.

- ``POST /v2/enqueue`` validated against ``events-v2-enqueue.request.schema.json`` (32-char
  alphanumeric routing key, severity enum, summary <= 1024, dedup_key <= 255, dedup_key
  required for acknowledge/resolve) and the 512 KB body limit; 400 bodies as PagerDuty sends
  them (``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``).
- 202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}``.
- Dedup per routing key: one open incident per dedup_key; a trigger for an open key is added
  to it (summary overwritten, severity raised, never lowered); resolve closes it; a trigger
  for a resolved key opens a new incident; acknowledge/resolve of no open incident is dropped
  silently (still 202); a trigger without dedup_key always opens a new one.
- 120 events per minute per routing key (rolling 60 s) -> 429, event dropped.
- ``routing_keys``: when given, a well-formed key not in it is refused with 400. (PagerDuty's
  answer to an unknown key is not in the contract; this is sloguard's stand-in.)
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.receivers._contracts import load, validator
from harness.receivers._server import Arrival, Clock, Receiver, Reply, schema_errors

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}
_CONTRACT = load("pagerduty/contract.json")
BODY_MAX_BYTES: int = _CONTRACT["limits"]["request_body_max_bytes"]
RATE_LIMIT: int = _CONTRACT["rate_limits"]["per_integration_key_per_minute"]


@dataclass
class Incident:
    """One PagerDuty incident (one alert) as the fake keeps it."""

    number: int
    routing_key: str
    dedup_key: str
    status: str  # "triggered" | "acknowledged" | "resolved"
    severity: str
    summary: str
    opened_at: float
    resolved_at: float | None = None
    severities: list[str] = field(default_factory=list)  # of every trigger, in order
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status != "resolved"


def _pd_error(path: str, message: str) -> str:
    """PagerDuty's own wording where it is known (contract examples), else path + message."""
    if path == "<body>":
        return message
    if path == "routing_key":
        if "is too short" in message or "is too long" in message:
            return "Length of 'routing_key' is incorrect (should be 32 characters)"
        if "does not match" in message:
            return "'routing_key' cannot contain non-alphanumeric characters."
    if path == "payload.severity":
        return (
            "'payload.severity' is invalid (must be one of the following: "
            "'critical', 'warning', 'error' or 'info')"
        )
    return f"'{path}' {message}"


class PagerDutyReceiver(Receiver):
    service = "pagerduty"

    def __init__(
        self,
        *,
        routing_keys: Iterable[str] | None = None,
        rate_limit_per_minute: int | None = RATE_LIMIT,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        self.routing_keys = set(routing_keys) if routing_keys is not None else None
        self.rate_limit_per_minute = rate_limit_per_minute
        self.incidents: list[Incident] = []
        self._sent: dict[str, deque[float]] = {}
        self._alert_schema = validator("pagerduty/events-v2-enqueue.request.schema.json")
        self._change_schema = validator("pagerduty/events-v2-change-enqueue.request.schema.json")
        self._accepted_schema = validator(
            "pagerduty/events-v2.responses.schema.json", "Accepted202"
        )
        self._bad_schema = validator("pagerduty/events-v2.responses.schema.json", "BadRequest400")

    @property
    def enqueue_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    def open_incidents(self, routing_key: str | None = None) -> list[Incident]:
        return [
            i
            for i in self.incidents
            if i.open and (routing_key is None or i.routing_key == routing_key)
        ]

    def incidents_for(self, dedup_key: str) -> list[Incident]:
        return [i for i in self.incidents if i.dedup_key == dedup_key]

    # --- answers ---------------------------------------------------------------------------
    def _bad(self, arrival: Arrival, errors: list[str], *, unparseable: bool = False) -> Reply:
        arrival.outcome = "rejected"
        arrival.errors = errors
        if unparseable:
            body = {
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": errors,
            }
        else:
            body = {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
        assert not list(self._bad_schema.iter_errors(body))
        return Reply.json(400, body)

    def _ok(self, arrival: Arrival, dedup_key: str | None, outcome: str = "accepted") -> Reply:
        arrival.outcome = outcome
        body: dict[str, Any] = {"status": "success", "message": "Event processed"}
        if dedup_key is not None:
            body["dedup_key"] = dedup_key
        assert not list(self._accepted_schema.iter_errors(body))
        return Reply.json(202, body)

    def handle(self, arrival: Arrival) -> Reply:
        if arrival.path not in ("/v2/enqueue", "/v2/change/enqueue"):
            arrival.outcome = "rejected"
            return Reply.json(404, {"status": "not found", "message": "Not Found"})
        if arrival.method != "POST":
            arrival.outcome = "rejected"
            return Reply.json(405, {"status": "method not allowed", "message": arrival.method})
        if len(arrival.body) > BODY_MAX_BYTES:
            return self._bad(arrival, [f"Event object is larger than {BODY_MAX_BYTES} bytes"])
        try:
            event = json.loads(arrival.body)
        except (ValueError, UnicodeDecodeError):
            return self._bad(arrival, ["JSON parse error"], unparseable=True)
        if not isinstance(event, dict):
            return self._bad(arrival, ["JSON parse error"], unparseable=True)
        schema = self._change_schema if arrival.path.endswith("/change/enqueue") else None
        errors = [
            _pd_error(*line.split(": ", 1))
            for line in schema_errors(schema or self._alert_schema, event)
        ]
        if errors:
            return self._bad(arrival, errors)
        key = event["routing_key"]
        if self.routing_keys is not None and key not in self.routing_keys:
            return self._bad(arrival, ["Invalid routing key"])
        if self._throttled(key, arrival.at):
            arrival.outcome = "throttled"
            return Reply.json(
                429,
                {"status": "throttle exceeded", "message": "Requests are arriving too quickly"},
            )
        if schema is not None:  # a change event: recorded, no incident
            return self._ok(arrival, None)
        return self._apply(arrival, key, event)

    def _throttled(self, key: str, now: float) -> bool:
        if self.rate_limit_per_minute is None:
            return False
        window = self._sent.setdefault(key, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.rate_limit_per_minute:
            return True
        window.append(now)
        return False

    def _apply(self, arrival: Arrival, key: str, event: dict[str, Any]) -> Reply:
        action = event["event_action"]
        dedup = event.get("dedup_key") or (str(uuid.uuid4()) if action == "trigger" else None)
        assert dedup is not None  # the schema requires it for acknowledge/resolve
        current = next(
            (i for i in reversed(self.incidents) if i.routing_key == key and i.dedup_key == dedup),
            None,
        )
        if current is not None and not current.open:
            current = None
        if action == "trigger":
            payload = event["payload"]
            if current is None:
                current = Incident(
                    number=len(self.incidents) + 1,
                    routing_key=key,
                    dedup_key=dedup,
                    status="triggered",
                    severity=payload["severity"],
                    summary=payload["summary"],
                    opened_at=arrival.at,
                )
                self.incidents.append(current)
            else:
                current.summary = payload["summary"]
                if SEVERITY_RANK[payload["severity"]] > SEVERITY_RANK[current.severity]:
                    current.severity = payload["severity"]
            current.severities.append(payload["severity"])
            current.events.append(event)
            return self._ok(arrival, dedup)
        if current is None:
            return self._ok(arrival, dedup, outcome="dropped")  # nothing open: PD drops it
        current.events.append(event)
        if action == "acknowledge":
            current.status = "acknowledged"
        else:
            current.status = "resolved"
            current.resolved_at = arrival.at
        return self._ok(arrival, dedup)
