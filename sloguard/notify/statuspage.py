"""Atlassian Statuspage (manage API v1): what customers read about an incident.

Contract: ``harness/contracts/statuspage/`` (request schemas, statuses, impacts, component
statuses, metadata, rate limits). What sloguard relies on:

- A **published** severity (``publish``, default SEV1 and SEV2) opens one incident on the
  page for the SLO's component (``spec.status_page``): SEV1 -> component ``major_outage``,
  impact ``critical``; SEV2 -> ``partial_outage``, ``major``. An escalation to a published
  severity updates it (or opens it, when the episode started below the publish line); the
  resolve sets status ``resolved`` and the component back to ``operational``. Stale data is
  not news for customers and is not published.
- **Customer-facing text** only: the component's public name in configurable templates
  (``{component}`` is the one placeholder), never PromQL, burn rates or SLO names.
- **Idempotent**: Statuspage has no idempotency (every POST opens an incident), so the
  incident's id is kept with the episode (:class:`sloguard.ports.NotifierState`) and, after a
  crash before that was written, found again among the unresolved incidents by its
  ``metadata.sloguard.episode_id``. Each transition's update is sent once per event id.
- **Retry**: 420 and 429 (rate limited, with ``Retry-After``), 408 and 5xx are retried;
  400, 401, 404 and 422 are not (``contract.json``). **Rate limit**: 1 request per second per
  key; a delivery makes at most two calls, so 30 deliveries a minute.
"""

from __future__ import annotations

import string
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.ports import NotifierState
from sloguard.records import Kind, Notification

SevName = Literal["SEV1", "SEV2", "SEV3"]
DEFAULT_PUBLISH: tuple[SevName, ...] = ("SEV1", "SEV2")
RATE_LIMIT_PER_MINUTE = 30
RETRY_AFTER_SECONDS = 1.0  # "wait Retry-After seconds (or >= 1 s when absent)"
COMPONENT_STATUS: dict[str, str] = {"SEV1": "major_outage", "SEV2": "partial_outage"}
IMPACT: dict[str, str] = {"SEV1": "critical", "SEV2": "major", "SEV3": "minor"}
METADATA_NAMESPACE = "sloguard"


class StatusTemplates(BaseModel):
    """What customers read. ``{component}`` is the component's public name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "Service disruption: {component}"
    investigating: str = (
        "We are investigating errors affecting {component}. Some requests may fail. "
        "We will post an update as we learn more."
    )
    escalated: str = (
        "The disruption of {component} has grown worse. Our engineers are working on it "
        "and will post an update soon."
    )
    deescalated: str = (
        "The disruption of {component} has lessened; some requests may still fail. Our "
        "engineers continue to work on it."
    )
    resolved: str = "{component} is working normally again. We are sorry for the disruption."

    @field_validator("title", "investigating", "escalated", "deescalated", "resolved")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if names - {"component"}:
            raise ValueError(
                f"unknown placeholder(s) {', '.join(sorted(names - {'component'}))}: "
                "only {component} is available (customers see no internal names)"
            )
        return value


class StatuspageConfig(NotifierConfigBase):
    """``type: statuspage``. The API key comes from ``api_key_file`` or ``api_key_env``."""

    type: Literal["statuspage"]
    api_key_file: str | None = None
    api_key_env: str | None = None
    page_id: str = Field(pattern=r"^[a-z0-9]+$", max_length=64)
    url: str = Field(default="https://api.statuspage.io/v1", pattern=r"^https?://")
    publish: list[SevName] = Field(default_factory=lambda: list(DEFAULT_PUBLISH))
    templates: StatusTemplates = Field(default_factory=StatusTemplates)


def published(n: Notification, config: StatuspageConfig) -> bool:
    return n.severity in config.publish and bool(n.status_component)


def _text(template: str, n: Notification) -> str:
    return template.format(component=n.status_component.get("name", "our service"))


def open_body(n: Notification, config: StatuspageConfig) -> dict[str, Any]:
    """The create-incident body: the component down by severity, the customer text."""
    cid = n.status_component["component_id"]
    return {
        "incident": {
            "name": _text(config.templates.title, n)[:255],
            "status": "investigating",
            "impact_override": IMPACT.get(n.severity, "minor"),
            "body": _text(config.templates.investigating, n),
            "component_ids": [cid],
            "components": {cid: COMPONENT_STATUS.get(n.severity, "degraded_performance")},
            "metadata": {METADATA_NAMESPACE: {"episode_id": n.episode_id}},
            "deliver_notifications": True,
        }
    }


def update_body(n: Notification, config: StatuspageConfig) -> dict[str, Any]:
    """An escalation's or a de-escalation's update (status ``identified``; the component's
    status follows the new severity) or the resolve."""
    cid = n.status_component["component_id"]
    if n.kind is Kind.RESOLVED:
        return {
            "incident": {
                "status": "resolved",
                "body": _text(config.templates.resolved, n),
                "components": {cid: "operational"},
            }
        }
    return {
        "incident": {
            "status": "identified",
            "impact_override": IMPACT.get(n.severity, "minor"),
            "body": _text(
                config.templates.deescalated
                if n.kind is Kind.DEESCALATED
                else config.templates.escalated,
                n,
            ),
            "components": {cid: COMPONENT_STATUS.get(n.severity, "degraded_performance")},
        }
    }


class StatuspageNotifier(HttpNotifier[StatuspageConfig]):
    integration = "statuspage"
    follows_severity_down = True
    rate_limit_per_minute = RATE_LIMIT_PER_MINUTE  # per API key
    retry_after_429_seconds = RETRY_AFTER_SECONDS

    def __init__(
        self,
        config: StatuspageConfig,
        client: httpx.AsyncClient,
        *,
        api_key: str,
        state: NotifierState,
    ) -> None:
        super().__init__(
            config,
            client,
            secrets=[api_key],
            rate_limit_on=api_key,
            shown={"page_id": config.page_id},
            state=state,
        )
        self._api_key = api_key

    def _transient(self, status: int) -> bool:
        """420 is Statuspage's older rate-limit status (contract ``420_vs_429``)."""
        return status in (408, 420, 429) or 500 <= status <= 599

    async def _deliver(self, notification: Notification) -> None:
        n = notification
        if not n.status_component or n.kind is Kind.STALE:
            return  # no public component, or nothing customers need to know
        state = self._load(n)
        if n.event_id in state.get("posted", []):
            return
        known = state.get("incident_id")
        if known is None and n.kind is not Kind.RESOLVED and not published(n, self._config):
            return  # below the publish line, and nothing published yet
        if known is not None:
            path = f"incidents/{known}"
            await self._page_request("PATCH", path, update_body(n, self._config), n)
            incident = str(known)
        else:
            # Not recorded: either never opened, or opened by this very notification before a
            # crash (a later one would find it recorded), so a found incident needs no update.
            found = await self._find(n)
            if found is None and n.kind is Kind.RESOLVED:
                return  # never published: nothing to close
            if found is None:
                body = await self._page_request("POST", "incidents", open_body(n, self._config), n)
                found = str(body["id"])
            elif n.kind is Kind.RESOLVED:  # the record was lost: close what the page shows
                closing = update_body(n, self._config)
                await self._page_request("PATCH", f"incidents/{found}", closing, n)
            incident = found
        state["incident_id"] = incident
        state["posted"] = [*state.get("posted", []), n.event_id]
        self._save(n, state)

    async def _find(self, n: Notification) -> str | None:
        """The episode's unresolved incident, by metadata (after a crash before the save)."""
        found = await self._page_request(
            "GET", "incidents/unresolved", None, n, params={"page": "1", "per_page": "100"}
        )
        for incident in found if isinstance(found, list) else []:
            meta = (incident.get("metadata") or {}).get(METADATA_NAMESPACE) or {}
            if meta.get("episode_id") == n.episode_id:
                return str(incident["id"])
        return None

    async def _page_request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        n: Notification,
        *,
        params: dict[str, str] | None = None,
    ) -> Any:
        url = f"{self._config.url.rstrip('/')}/pages/{self._config.page_id}/{path}"
        what = f"{method} {path} ({n.kind.value} {n.episode_id})"
        response = await self._request(
            method,
            url,
            what,
            json=body,
            params=params,
            headers={"Authorization": f"OAuth {self._api_key}", "Accept": "application/json"},
        )
        return self._json(response, what)
