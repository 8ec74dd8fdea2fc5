"""An Atlassian Statuspage manage API (v1) that enforces ``contracts/statuspage/``.

- ``POST /v1/pages/{page_id}/incidents`` (201), ``PATCH``/``PUT .../incidents/{id}`` (200),
  ``GET .../incidents`` (``q``, ``limit`` <= 100, ``page``), ``GET .../incidents/unresolved``,
  ``GET .../components``, ``PATCH``/``PUT .../components/{id}`` (200). A ``.json`` suffix is
  accepted, as the spec's introduction says.
- ``Authorization: OAuth <key>`` (or ``?api_key=``); none or unknown -> 401. Unknown page,
  incident or component -> 404. Errors are ``{"message": ...}`` (ErrorEntity).
- Bodies are JSON (the API also takes forms; sloguard sends JSON, so a form is refused with
  400 here) and validated against the request schemas: broken JSON or a missing ``incident`` /
  ``component`` wrapper -> 400; a field the schema forbids (status, impact and component
  status enums, name <= 255, body <= 25,000, metadata values objects, realtime vs scheduled
  statuses, components with ``backfilled``) -> 422; a component id not on the page -> 422.
- Each create or update with a body or status is an incident update, in order, with the
  components it moved (``affected_components``); ``components`` in a body set the components'
  statuses. ``metadata`` is kept as sent and can be searched (:meth:`with_metadata`).
- "Each API token is limited to 1 request / second as measured on a 60 second rolling window"
  -> 60 per rolling 60 s per key, answered 429 (or 420: ``rate_limit_status``) with
  ``Retry-After``; a components list without ``page``/``per_page`` is limited to 1 a minute.
- No idempotency: every POST opens an incident (the client must look first).
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.receivers._contracts import contract_validator, load
from harness.receivers._server import Arrival, Clock, Receiver, Reply

_CONTRACT = load("statuspage/contract.json")
DEMO_API_KEY = "sloguard-demo-statuspage-key"  # public demo value, not a secret
DEMO_PAGE_ID = "sloguardpage"
RATE_LIMIT_PER_MINUTE = 60  # 1 request/s "measured on a 60 second rolling window"
IMPACT_OF = {  # the impact a component status implies when no impact_override is given
    "major_outage": "critical",
    "partial_outage": "major",
    "degraded_performance": "minor",
    "under_maintenance": "maintenance",
    "operational": "none",
}
IMPACT_RANK = ["none", "maintenance", "minor", "major", "critical"]
UNRESOLVED = {"investigating", "identified", "monitoring", "scheduled", "in_progress", "verifying"}
_ROUTE = re.compile(r"^/v1/pages/([^/]+)/(incidents|components)(?:/([^/]+))?$")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StatuspageComponent:
    id: str
    name: str
    status: str = "operational"
    history: list[str] = field(default_factory=list)  # every status it was set to, in order
    updated_at: str = ""

    def view(self, page_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "page_id": page_id,
            "group_id": None,
            "name": self.name,
            "status": self.status,
            "created_at": self.updated_at,
            "updated_at": self.updated_at,
            "group": False,
            "position": 1,
            "showcase": True,
            "only_show_if_degraded": False,
        }


@dataclass
class StatuspageIncident:
    """One incident as the page keeps it; ``updates`` are its incident updates, in order."""

    id: str
    name: str
    status: str
    impact: str
    impact_override: str | None
    created_at: str
    metadata: dict[str, Any] | None
    component_ids: list[str]
    updates: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)  # every request body, in order
    updated_at: str = ""
    monitoring_at: str | None = None
    resolved_at: str | None = None

    @property
    def unresolved(self) -> bool:
        return self.status in UNRESOLVED


class StatuspageReceiver(Receiver):
    """``with StatuspageReceiver(components={"8kbf7d35c070": "Checkout"}) as sp: ...``; point
    the client at ``sp.api_url``; ``sp.incidents`` and ``sp.components`` are the page."""

    service = "statuspage"

    def __init__(
        self,
        *,
        page_id: str = DEMO_PAGE_ID,
        api_keys: Iterable[str] = (DEMO_API_KEY,),
        components: Mapping[str, str] | None = None,
        rate_limit_per_minute: int | None = RATE_LIMIT_PER_MINUTE,
        rate_limit_status: int = 429,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        assert rate_limit_status in _CONTRACT["rate_limits"]["on_limit_status_codes"]
        self.page_id = page_id
        self.api_keys = set(api_keys)
        self.components = {
            cid: StatuspageComponent(cid, name)
            for cid, name in (components or {"8kbf7d35c070": "Checkout"}).items()
        }
        self.incidents: list[StatuspageIncident] = []
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_status = rate_limit_status
        self._calls: dict[str, deque[float]] = {}
        self._updates = 0

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    def unresolved(self) -> list[StatuspageIncident]:
        return [i for i in self.incidents if i.unresolved]

    def with_metadata(self, namespace: str, key: str, value: Any) -> list[StatuspageIncident]:
        """Incidents whose ``metadata[namespace][key] == value``."""
        return [
            i for i in self.incidents if (i.metadata or {}).get(namespace, {}).get(key) == value
        ]

    # --- dispatch --------------------------------------------------------------------------
    def handle(self, arrival: Arrival) -> Reply:
        try:
            key = self._authenticate(arrival)
            route = _ROUTE.match(arrival.path.removesuffix(".json"))
            if route is None or route.group(1) != self.page_id:
                raise _Refused(404, "The page could not be found")
            wait = self._throttle(key, arrival)
            if wait is not None:
                arrival.outcome = "throttled"
                headers = {"Retry-After": str(wait)}
                body = {"message": "Rate limit exceeded"}
                return Reply.json(self.rate_limit_status, body, headers)
            status, body = self._route(arrival, route.group(2), route.group(3))
        except _Refused as refused:
            arrival.outcome = "rejected"
            arrival.errors = [refused.message]
            return Reply.json(refused.status, {"message": refused.message})
        arrival.outcome = "accepted"
        return Reply.json(status, body)

    def _route(self, arrival: Arrival, kind: str, item: str | None) -> tuple[int, Any]:
        verb = arrival.method
        if kind == "incidents" and item is None and verb == "POST":
            return 201, self._checked("Created201", self._create(arrival))
        if kind == "incidents" and item == "unresolved" and verb == "GET":
            shown = self._paged(arrival, self.unresolved())
            return 200, self._checked("UnresolvedList200", shown)
        if kind == "incidents" and item is None and verb == "GET":
            return 200, self._checked("List200", self._search(arrival))
        if kind == "incidents" and item is not None and verb in ("PATCH", "PUT"):
            return 200, self._checked("Updated200", self._update(arrival, item))
        if kind == "components" and item is None and verb == "GET":
            views = [c.view(self.page_id) for c in self.components.values()]
            return 200, self._paged(arrival, views)
        if kind == "components" and item is not None and verb in ("PATCH", "PUT"):
            return 200, self._update_component(arrival, item)
        raise _Refused(404, "Not found")

    def _authenticate(self, arrival: Arrival) -> str:
        header = arrival.headers.get("authorization", "")
        key = header.removeprefix("OAuth ") if header.startswith("OAuth ") else None
        key = key or arrival.query.get("api_key")
        if not key or key not in self.api_keys:
            raise _Refused(401, "Could not authenticate")
        return key

    def _throttle(self, key: str, arrival: Arrival) -> int | None:
        """Seconds to wait when ``key`` is over its limit, else None (and count the call)."""
        if self.rate_limit_per_minute is None:
            return None
        unpaginated = (
            arrival.method == "GET"
            and arrival.path.removesuffix(".json").endswith("/components")
            and not {"page", "per_page"} <= set(arrival.query)
        )
        for bucket, limit in [(key, self.rate_limit_per_minute)] + (
            [(f"{key}:unpaginated", 1)] if unpaginated else []
        ):
            window = self._calls.setdefault(bucket, deque())
            while window and window[0] <= arrival.at - 60:
                window.popleft()
            if len(window) >= limit:
                return max(1, math.ceil(window[0] + 60 - arrival.at))
        for bucket in [key] + ([f"{key}:unpaginated"] if unpaginated else []):
            self._calls[bucket].append(arrival.at)
        return None

    # --- requests --------------------------------------------------------------------------
    def _body(self, arrival: Arrival, schema: str, wrapper: str) -> dict[str, Any]:
        """The wrapped object of a JSON body that passes ``schema``."""
        if not arrival.headers.get("content-type", "").startswith("application/json"):
            raise _Refused(400, "Content-Type must be application/json")
        try:
            body = json.loads(arrival.body)
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "Invalid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
            raise _Refused(400, f"param is missing or the value is empty: {wrapper}")
        errors = sorted(
            contract_validator("statuspage", schema).iter_errors(body),
            key=lambda e: list(e.absolute_path),
        )
        if errors:
            path = ".".join(str(p) for p in errors[0].absolute_path)
            raise _Refused(422, f"{path}: {errors[0].message}" if path else errors[0].message)
        inner: dict[str, Any] = body[wrapper]
        return inner

    def _now(self, arrival: Arrival) -> str:
        stamp = datetime.fromtimestamp(arrival.at, UTC).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")

    def _create(self, arrival: Arrival) -> dict[str, Any]:
        fields = self._body(arrival, "incidents.create.request.schema.json", "incident")
        self._known_components(fields)
        scheduled = "scheduled_for" in fields or "scheduled_until" in fields
        now = self._now(arrival)
        incident = StatuspageIncident(
            id=f"inc{len(self.incidents) + 1:09d}",
            name=fields["name"],
            status=fields.get("status", "scheduled" if scheduled else "investigating"),
            impact="none",
            impact_override=fields.get("impact_override"),
            created_at=now,
            metadata=fields.get("metadata"),
            component_ids=list(fields.get("component_ids", [])),
        )
        self.incidents.append(incident)
        self._apply(incident, fields, now, always_update=True)
        return self._view(incident)

    def _update(self, arrival: Arrival, incident_id: str) -> dict[str, Any]:
        incident = next((i for i in self.incidents if i.id == incident_id), None)
        if incident is None:
            raise _Refused(404, "The incident could not be found")
        fields = self._body(arrival, "incidents.update.request.schema.json", "incident")
        self._known_components(fields)
        for name in ("name", "impact_override", "metadata"):
            if name in fields:
                setattr(incident, name, fields[name])
        if "component_ids" in fields:
            incident.component_ids = list(fields["component_ids"])
        self._apply(incident, fields, self._now(arrival), always_update=False)
        return self._view(incident)

    def _known_components(self, fields: dict[str, Any]) -> None:
        named = [*fields.get("component_ids", []), *fields.get("components", {})]
        unknown = sorted(set(named) - set(self.components))
        if unknown:
            raise _Refused(422, f"Component {unknown[0]} could not be found")

    def _apply(
        self, incident: StatuspageIncident, fields: dict[str, Any], now: str, always_update: bool
    ) -> None:
        """Status, component statuses and the incident update a body makes."""
        incident.bodies.append(fields)
        incident.status = fields.get("status", incident.status)
        incident.updated_at = now
        if incident.status == "monitoring" and incident.monitoring_at is None:
            incident.monitoring_at = now
        if incident.status in ("resolved", "completed"):
            incident.resolved_at = incident.resolved_at or now
        affected = []
        for cid, status in fields.get("components", {}).items():
            component = self.components[cid]
            affected.append(
                {"code": cid, "name": component.name, "old_status": component.status,
                 "new_status": status}
            )  # fmt: skip
            component.status, component.updated_at = status, now
            component.history.append(status)
            if cid not in incident.component_ids:
                incident.component_ids.append(cid)
        incident.impact = incident.impact_override or self._impact(incident)
        if always_update or "body" in fields or "status" in fields:
            self._updates += 1
            incident.updates.append(
                {
                    "id": f"upd{self._updates:09d}",
                    "incident_id": incident.id,
                    "status": incident.status,
                    "body": fields.get("body", ""),
                    "created_at": now,
                    "updated_at": now,
                    "display_at": now,
                    "deliver_notifications": fields.get("deliver_notifications", True),
                    "affected_components": affected,
                }
            )

    def _impact(self, incident: StatuspageIncident) -> str:
        """The worst impact of the incident's components (realtime incidents only)."""
        implied = [IMPACT_OF[self.components[c].status] for c in incident.component_ids]
        return max(implied, key=IMPACT_RANK.index, default=incident.impact)

    def _update_component(self, arrival: Arrival, component_id: str) -> dict[str, Any]:
        component = self.components.get(component_id)
        if component is None:
            raise _Refused(404, "The component could not be found")
        fields = self._body(arrival, "components.update.request.schema.json", "component")
        if "status" in fields:
            component.status = fields["status"]
            component.history.append(fields["status"])
        component.name = fields.get("name", component.name)
        component.updated_at = self._now(arrival)
        view = component.view(self.page_id)
        checker = contract_validator("statuspage", "components.responses.schema.json", "Updated200")
        assert not list(checker.iter_errors(view)), view
        return view

    # --- answers ---------------------------------------------------------------------------
    def _view(self, incident: StatuspageIncident) -> dict[str, Any]:
        return {
            "id": incident.id,
            "page_id": self.page_id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact,
            "impact_override": incident.impact_override,
            "shortlink": f"https://stspg.io/{incident.id[-9:]}",
            "created_at": incident.created_at,
            "updated_at": incident.updated_at,
            "monitoring_at": incident.monitoring_at,
            "resolved_at": incident.resolved_at,
            "incident_updates": list(reversed(incident.updates)),  # newest first, as shown
            "components": [self.components[c].view(self.page_id) for c in incident.component_ids],
            "metadata": incident.metadata,
        }

    def _paged(self, arrival: Arrival, items: list[Any]) -> list[Any]:
        size = "limit" if "limit" in arrival.query else "per_page"
        per_page = _count(arrival.query, size, 100, most=100)  # "default and maximum 100"
        page = _count(arrival.query, "page", 1)
        chosen = [self._view(i) if isinstance(i, StatuspageIncident) else i for i in items]
        return chosen[(page - 1) * per_page : page * per_page]

    def _search(self, arrival: Arrival) -> list[dict[str, Any]]:
        """``q`` matches name, status and update bodies, as the list operation documents."""
        q = arrival.query.get("q", "").lower()
        found = [
            i
            for i in self.incidents
            if not q
            or q in i.name.lower()
            or q == i.status
            or any(q in u["body"].lower() for u in i.updates)
        ]
        return self._paged(arrival, list(reversed(found)))

    def _checked(self, definition: str, body: Any) -> Any:
        checker = contract_validator("statuspage", "incidents.responses.schema.json", definition)
        assert not list(checker.iter_errors(body)), body
        return body


def _count(query: dict[str, str], name: str, default: int, most: int | None = None) -> int:
    """A ``page``/``per_page``/``limit`` query value: a positive integer (at most ``most``)."""
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1 or (most is not None and int(text) > most):
        raise _Refused(400, f"Invalid {name}: {text}")
    return int(text)
