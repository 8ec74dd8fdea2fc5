"""Opsgenie Alert API v2 (and the same body to Jira Service Management's Ops integration API).

Contract: ``harness/contracts/opsgenie/`` (the Alert API swagger, the create-alert
limits schema, contract.json). What sloguard relies on:

- Create (``POST /v2/alerts``) with ``alias`` = the episode id: Opsgenie deduplicates open
  alerts by alias, so a retried create only bumps the count.
- Escalation: a create with the same alias and the higher priority (per Atlassian's "Update
  alert priority level", a duplicate with a higher priority raises the alert's priority and
  restarts its notifications), then ``PUT /v2/alerts/{alias}/priority?identifierType=alias``
  so the priority is right even where dedup keeps the original one. JSM's integration API
  has no priority endpoint; there the explicit step is a note on the alert instead.
- Resolve: ``POST /v2/alerts/{alias}/close?identifierType=alias`` (the default identifier
  type is ``id``; an alias sent without it is looked up as an id and silently not found).
- All of these are asynchronous: 202 means "will be processed", nothing more.
- Retry: network errors, 429 and 5xx except 501, as the official Go SDK does
  (``retry_rules_official_go_sdk``); 400/401/402/403/404/422 are permanent.
- Limits (create-alert.limits.schema.json): message 130, alias 512, description 15000,
  tags 20 x 50, details 8000 characters in total, entity 512, source 100, note 25000,
  responders 50. Over-long values are cut here, with an ellipsis, never sent to be refused.
- Budget events: a line of the budget policy crossed is its own alert, ``alias``
  ``budget:<slo>:<line>`` (P4; P3 for exhaustion), closed by the ``budget.recovered`` of the
  same line (a close of an alias never created is answered 202 and does nothing).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sloguard.notify import _http
from sloguard.notify._text import (
    alert_key,
    details_markdown,
    facts,
    headline,
    stale_key,
    truncate,
)
from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.records import Kind, Notification

OgPriority = Literal["P1", "P2", "P3", "P4", "P5"]
SevName = Literal["SEV1", "SEV2", "SEV3"]

BASE_URLS = {
    "us": "https://api.opsgenie.com",
    "eu": "https://api.eu.opsgenie.com",
}
JSM_BASE_URL = "https://api.atlassian.com/jsm/ops/integration"
DEFAULT_PRIORITY_MAP: dict[SevName, OgPriority] = {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3"}
MESSAGE_MAX = 130
ALIAS_MAX = 512
DESCRIPTION_MAX = 15000
TAGS_MAX, TAG_MAX = 20, 50
DETAILS_TOTAL_MAX = 8000
ENTITY_MAX = 512
SOURCE_MAX = 100
NOTE_MAX = 25000
RESPONDERS_MAX = 50
# A budget line asks the team to act, below any burn page (the routes choose who hears it).
BUDGET_PRIORITY: dict[Kind, OgPriority] = {
    Kind.BUDGET_THRESHOLD_CROSSED: "P4",
    Kind.BUDGET_EXHAUSTED: "P3",
}


class Responder(BaseModel):
    """Who Opsgenie notifies: a team, user, escalation or schedule, by id or name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["team", "user", "escalation", "schedule"]
    id: str | None = None
    name: str | None = None
    username: str | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Responder:
        if not (self.id or self.name or self.username):
            raise ValueError("a responder needs one of id, name or username")
        return self


class OpsgenieConfig(NotifierConfigBase):
    """``type: opsgenie``. The API key comes from ``api_key_file`` or ``api_key_env``."""

    type: Literal["opsgenie"]
    api_key_file: str | None = None
    api_key_env: str | None = None
    region: Literal["us", "eu"] = "us"
    api: Literal["opsgenie", "jsm"] = "opsgenie"  # jsm: Jira Service Management Ops
    url: str | None = Field(default=None, pattern=r"^https?://")  # overrides region/api
    priority_map: dict[SevName, OgPriority] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_MAP)
    )
    stale_priority: OgPriority = "P3"
    responders: list[Responder] = Field(default_factory=list, max_length=RESPONDERS_MAX)
    tags: list[str] = Field(default_factory=list)
    source: str = Field(default="sloguard", max_length=SOURCE_MAX)

    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        return JSM_BASE_URL if self.api == "jsm" else BASE_URLS[self.region]


def priority_for(notification: Notification, config: OpsgenieConfig) -> OgPriority:
    if notification.kind is Kind.STALE:
        return config.stale_priority
    if notification.kind in BUDGET_PRIORITY:
        return BUDGET_PRIORITY[notification.kind]
    for mapping in (config.priority_map, DEFAULT_PRIORITY_MAP):
        for sev, priority in mapping.items():
            if sev == notification.severity:
                return priority
    return "P1"  # an unknown severity pages rather than hides


def alias(notification: Notification) -> str:
    """The alert's key (:func:`~sloguard.notify._text.alert_key`), as PagerDuty's."""
    return alert_key(notification, ALIAS_MAX)


def tags(notification: Notification, config: OpsgenieConfig) -> list[str]:
    n = notification
    wanted = [
        "sloguard",
        n.severity,
        f"slo:{n.slo}",
        f"service:{n.service}",
        *(f"{k}:{v}" for k, v in n.owner.items()),
        *config.tags,
        *(f"{k}:{v}" for k, v in n.labels.items()),
    ]
    if n.kind is Kind.STALE:
        wanted.insert(1, "stale")
    if n.kind.budget:
        wanted.insert(1, "error-budget")
    out: list[str] = []
    for tag in wanted:
        tag = truncate(tag, TAG_MAX)
        if tag and tag not in out:
            out.append(tag)
    return out[:TAGS_MAX]


def details(notification: Notification) -> dict[str, str]:
    """String-to-string facts within the 8000-character budget (keys and values counted);
    facts that no longer fit are left out, the first ones (slo, severity, burn) kept."""
    out: dict[str, str] = {}
    used = 0
    for key, value in facts(notification).items():
        key = truncate(key, 100)
        room = DETAILS_TOTAL_MAX - used - len(key)
        if room <= 0:
            break
        value = truncate(value, min(room, 1000))
        out[key] = value
        used += len(key) + len(value)
    return out


def build_payload(notification: Notification, config: OpsgenieConfig) -> dict[str, Any]:
    """The create-alert body (for DECLARED, ESCALATED, STALE and a budget line crossed)."""
    n = notification
    body: dict[str, Any] = {
        "message": truncate(headline(n), MESSAGE_MAX),
        "alias": alias(n),
        "description": truncate(details_markdown(n), DESCRIPTION_MAX),
        "tags": tags(n, config),
        "details": details(n),
        "entity": truncate(n.service or n.slo, ENTITY_MAX),
        "source": truncate(config.source, SOURCE_MAX),
        "priority": priority_for(n, config),
    }
    if config.responders:
        body["responders"] = [
            r.model_dump(exclude_none=True) for r in config.responders[:RESPONDERS_MAX]
        ]
    if n.kind is Kind.ESCALATED and n.previous_severity:
        body["note"] = f"Escalated from {n.previous_severity} to {n.severity}"
    return body


def close_payload(notification: Notification, config: OpsgenieConfig) -> dict[str, Any]:
    return {
        "source": truncate(config.source, SOURCE_MAX),
        "note": truncate(headline(notification), NOTE_MAX),
    }


def alert_path(identifier: str, action: str) -> str:
    return f"/v2/alerts/{quote(identifier, safe='')}/{action}"


class OpsgenieNotifier(HttpNotifier[OpsgenieConfig]):
    """No rate limit of ours: Opsgenie throttles per plan and domain; 429 tells us when."""

    integration = "opsgenie"

    def __init__(self, config: OpsgenieConfig, client: httpx.AsyncClient, *, api_key: str) -> None:
        self._base = config.base_url()
        super().__init__(config, client, secrets=[api_key], shown={"url": self._base})
        self._headers = {
            "Authorization": f"GenieKey {api_key}",
            "Accept": "application/json",
        }

    def _transient(self, status: int) -> bool:
        """501 (not implemented) will not change on a retry (the official Go SDK's rule)."""
        return status != 501 and _http.vendor_transient(status)

    async def _alert_request(self, method: str, path: str, body: dict[str, Any], what: str) -> None:
        params = {"identifierType": "alias"} if path != "/v2/alerts" else None
        await self._request(
            method, self._base + path, what, json=body, headers=self._headers, params=params
        )

    async def _deliver(self, notification: Notification) -> None:
        n = notification
        if n.kind is Kind.RESOLVED:
            body = close_payload(n, self._config)
            key = alias(n)
            await self._alert_request("POST", alert_path(key, "close"), body, f"close {key}")
            stale = stale_key(n.episode_id, ALIAS_MAX)
            await self._alert_request("POST", alert_path(stale, "close"), body, f"close {stale}")
            return
        if n.kind is Kind.BUDGET_RECOVERED:
            key = alias(n)
            body = close_payload(n, self._config)
            await self._alert_request("POST", alert_path(key, "close"), body, f"close {key}")
            return
        body = build_payload(n, self._config)
        await self._alert_request("POST", "/v2/alerts", body, f"create {body['alias']}")
        if n.kind is Kind.ESCALATED:
            if self._config.api == "jsm":
                note = {"note": body.get("note", "Escalated"), "source": body["source"]}
                path = alert_path(body["alias"], "notes")
                await self._alert_request("POST", path, note, f"note {body['alias']}")
            else:
                path = alert_path(body["alias"], "priority")
                prio = {"priority": body["priority"]}
                await self._alert_request("PUT", path, prio, f"priority {body['alias']}")
