"""An Opsgenie Alert API (and JSM Ops integration API) that enforces ``contracts/opsgenie/``.

- ``Authorization: GenieKey <key>`` with a key from ``api_keys``; else 401.
- ``POST /v2/alerts`` validated against ``create-alert.limits.schema.json`` plus the 8000-char
  total of ``details``; invalid JSON -> 400, invalid body -> 422 with per-field errors.
- Every accepted request is asynchronous: 202 ``{"result": "Request will be processed",
  "took": ..., "requestId": ...}``; the outcome is in ``GET /v2/alerts/requests/{id}``.
- Alias dedup among open alerts: a create for an open alias bumps ``count``; a higher
  priority raises the alert's priority; a create for a closed alias opens a new alert.
- ``close``/``acknowledge``/``notes`` and ``PUT .../priority`` with ``identifierType`` (default
  ``id``: an alias sent without ``identifierType=alias`` is not found, and the request status
  says "Alert does not exist" while the HTTP answer is still 202).
- JSM's integration API (``/jsm/ops/integration/v2/alerts``) has create, close, acknowledge
  and notes, but no priority endpoint (404 there).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from harness.receivers._contracts import load, validator
from harness.receivers._server import Arrival, Clock, Receiver, Reply, schema_errors

JSM_PREFIX = "/jsm/ops/integration"
DETAILS_TOTAL_MAX = 8000
ACTION_LIMITS = {"user": 100, "source": 100, "note": 25000}
IDENTIFIER_TYPES = set(
    load("opsgenie/contract.json")["operations"]["close"]["query"]["identifierType"]
)
_SWAGGER = load("opsgenie/opsgenie-alert-api.swagger.json")
PRIORITIES = _SWAGGER["definitions"]["UpdateAlertPriorityPayload"]["properties"]["priority"]["enum"]


@dataclass
class Alert:
    id: str
    tiny_id: str
    alias: str
    message: str
    priority: str
    status: str = "open"  # "open" | "closed"
    acknowledged: bool = False
    count: int = 1
    created_at: float = 0.0
    closed_at: float | None = None
    priorities: list[str] = field(default_factory=list)  # every priority it has had, in order
    notes: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)  # every create deduped into it

    @property
    def open(self) -> bool:
        return self.status == "open"


class OpsgenieReceiver(Receiver):
    service = "opsgenie"

    def __init__(
        self,
        *,
        api_keys: Iterable[str],
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        self.api_keys = set(api_keys)
        self.alerts: list[Alert] = []
        self.requests: dict[str, dict[str, Any]] = {}
        self._create = validator("opsgenie/create-alert.limits.schema.json")

    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.open]

    def alerts_for(self, alias: str) -> list[Alert]:
        return [a for a in self.alerts if a.alias == alias]

    # --- answers ---------------------------------------------------------------------------
    def _error(self, arrival: Arrival, status: int, message: str, errors: Any = None) -> Reply:
        arrival.outcome = "rejected"
        arrival.errors = [message] + (
            [f"{k}: {v}" for k, v in errors.items()] if isinstance(errors, dict) else []
        )
        body: dict[str, Any] = {"message": message, "took": 0.001, "requestId": str(uuid.uuid4())}
        if errors:
            body["errors"] = errors
        return Reply.json(status, body)

    def _accepted(self, arrival: Arrival, action: str, result: dict[str, Any]) -> Reply:
        request_id = str(uuid.uuid4())
        self.requests[request_id] = {
            "success": result["isSuccess"],
            "action": action,
            "processedAt": arrival.at,
            "integrationId": "sloguard-fake",
            **result,
        }
        arrival.outcome = "accepted" if result["isSuccess"] else "accepted-not-applied"
        if not result["isSuccess"]:
            arrival.errors = [result["status"]]
        return Reply.json(
            202, {"result": "Request will be processed", "took": 0.002, "requestId": request_id}
        )

    def handle(self, arrival: Arrival) -> Reply:
        path = arrival.path
        jsm = path.startswith(JSM_PREFIX + "/")
        if jsm:
            path = path[len(JSM_PREFIX) :]
        auth = arrival.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme != "GenieKey" or key not in self.api_keys:
            return self._error(arrival, 401, "Could not authenticate")
        parts = [unquote(p) for p in path.split("/") if p]  # identifiers are %-encoded
        if parts[:2] != ["v2", "alerts"]:
            return self._error(arrival, 404, "Not Found")
        if len(parts) == 4 and parts[2] == "requests" and arrival.method == "GET":
            status = self.requests.get(parts[3])
            if status is None:
                return self._error(arrival, 404, "Request not found")
            arrival.outcome = "accepted"
            return Reply.json(200, {"data": status, "took": 0.001, "requestId": str(uuid.uuid4())})
        body: Any = None
        if arrival.body:
            try:
                body = json.loads(arrival.body)
            except (ValueError, UnicodeDecodeError):
                return self._error(arrival, 400, "Could not parse request body")
        if len(parts) == 2 and arrival.method == "POST":
            return self._create_alert(arrival, body)
        if len(parts) == 4 and parts[3] in ("close", "acknowledge", "notes", "priority"):
            if parts[3] == "priority" and (jsm or arrival.method != "PUT"):
                return self._error(arrival, 404, "Not Found")
            if parts[3] != "priority" and arrival.method != "POST":
                return self._error(arrival, 405, "Method Not Allowed")
            return self._action(arrival, parts[2], parts[3], body)
        return self._error(arrival, 404, "Not Found")

    def _create_alert(self, arrival: Arrival, body: Any) -> Reply:
        if body is None:
            return self._error(arrival, 400, "Request body is required")
        problems = schema_errors(self._create, body)
        details = body.get("details") if isinstance(body, dict) else None
        if isinstance(details, dict):
            total = sum(len(str(k)) + len(str(v)) for k, v in details.items())
            if total > DETAILS_TOTAL_MAX:
                problems.append(f"details: {total} characters; the limit is {DETAILS_TOTAL_MAX}")
        if problems:
            errors = dict(p.split(": ", 1) for p in problems)
            return self._error(arrival, 422, "Request body is not valid", errors)
        alias = body.get("alias") or str(uuid.uuid4())
        priority = body.get("priority", "P3")
        alert = next((a for a in self.alerts if a.alias == alias and a.open), None)
        if alert is None:
            alert = Alert(
                id=str(uuid.uuid4()),
                tiny_id=str(len(self.alerts) + 1),
                alias=alias,
                message=body["message"],
                priority=priority,
                created_at=arrival.at,
                priorities=[priority],
            )
            self.alerts.append(alert)
            status = "Created alert"
        else:
            alert.count += 1
            if PRIORITIES.index(priority) < PRIORITIES.index(alert.priority):
                alert.priority = priority  # a higher priority raises it; a lower one does not
                alert.priorities.append(priority)
            status = "Alert already exists, count incremented"
        alert.bodies.append(body)
        if body.get("note"):
            alert.notes.append(body["note"])
        return self._accepted(
            arrival,
            "Create",
            {"isSuccess": True, "status": status, "alertId": alert.id, "alias": alert.alias},
        )

    def _action(self, arrival: Arrival, identifier: str, action: str, body: Any) -> Reply:
        id_type = arrival.query.get("identifierType", "id")
        if id_type not in IDENTIFIER_TYPES:
            return self._error(
                arrival, 422, f"identifierType must be one of {sorted(IDENTIFIER_TYPES)}"
            )
        if body is not None and not isinstance(body, dict):
            return self._error(arrival, 422, "Request body is not valid")
        body = body or {}
        problems = {
            k: f"longer than {limit} characters"
            for k, limit in ACTION_LIMITS.items()
            if isinstance(body.get(k), str) and len(body[k]) > limit
        }
        if action == "notes" and not body.get("note"):
            problems["note"] = "note is required"
        if action == "priority" and body.get("priority") not in PRIORITIES:
            problems["priority"] = f"must be one of {PRIORITIES}"
        if problems:
            return self._error(arrival, 422, "Request body is not valid", problems)
        attribute = {"id": "id", "alias": "alias", "tiny": "tiny_id"}[id_type]
        alert = next(
            (a for a in reversed(self.alerts) if getattr(a, attribute) == identifier), None
        )
        verb = {"close": "Close", "acknowledge": "Acknowledge", "notes": "AddNote"}.get(
            action, "UpdatePriority"
        )
        if alert is None or (action != "notes" and not alert.open):
            return self._accepted(
                arrival,
                verb,
                {"isSuccess": False, "status": "Alert does not exist", "alertId": "", "alias": ""},
            )
        if action == "close":
            alert.status, alert.closed_at = "closed", arrival.at
        elif action == "acknowledge":
            alert.acknowledged = True
        elif action == "priority":
            alert.priority = body["priority"]
            alert.priorities.append(body["priority"])
        if body.get("note"):
            alert.notes.append(body["note"])
        return self._accepted(
            arrival,
            verb,
            {
                "isSuccess": True,
                "status": f"{verb} done",
                "alertId": alert.id,
                "alias": alert.alias,
            },
        )
