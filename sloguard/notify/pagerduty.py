"""PagerDuty Events API v2 (``POST /v2/enqueue``): trigger, re-trigger on escalation, resolve.

Contract: ``harness/contracts/pagerduty/`` (request schema, 202/400 bodies, limits,
dedup semantics). What sloguard relies on:

- ``dedup_key`` = the episode id, so a retried or repeated trigger never opens a second
  incident while the first is open; escalation re-triggers the same key with the higher
  ``payload.severity`` (PagerDuty raises the incident's urgency on services using dynamic
  notifications, never lowers it); ``resolve`` with the key closes it.
- A stale evaluation gets its own alert (``<episode>:stale``, warning), resolved together
  with the episode.
- Retry: 429, 5xx and network errors are worth retrying, 400 is not (contract.json
  ``responses``). No ``Retry-After`` is documented; on 429 without one we hint 30 s, the
  spacing PagerDuty's rate-limit page suggests (``retry_guidance.rate_limit_page``).
- Rate limit: 120 events per minute per routing key (``rate_limits``).
- Budget events: a line of the budget policy crossed is its own alert, ``dedup_key``
  ``budget:<slo>:<line>`` (``warning``; ``error`` for exhaustion), resolved by the
  ``budget.recovered`` of the same line. A resolve of a key never triggered is a no-op 202.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import Field

from sloguard.durations import iso_time
from sloguard.notify._text import alert_key, headline, stale_key, truncate
from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.records import Kind, Notification

PdSeverity = Literal["critical", "error", "warning", "info"]
SevName = Literal["SEV1", "SEV2", "SEV3"]

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_SEVERITY_MAP: dict[SevName, PdSeverity] = {
    "SEV1": "critical",
    "SEV2": "error",
    "SEV3": "warning",
}
SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
RATE_LIMIT_PER_MINUTE = 120
RETRY_AFTER_429_SECONDS = 30.0
# A budget line is a warning to act on, not a page at night (the routes choose who hears it).
BUDGET_SEVERITY: dict[Kind, PdSeverity] = {
    Kind.BUDGET_THRESHOLD_CROSSED: "warning",
    Kind.BUDGET_EXHAUSTED: "error",
}


class PagerDutyConfig(NotifierConfigBase):
    """``type: pagerduty``. The routing key (32 characters, an Events API v2 integration key)
    comes from ``routing_key_file`` or ``routing_key_env``, never from the YAML itself."""

    type: Literal["pagerduty"]
    routing_key_file: str | None = None
    routing_key_env: str | None = None
    url: str = Field(default=DEFAULT_URL, pattern=r"^https?://")
    severity_map: dict[SevName, PdSeverity] = Field(
        default_factory=lambda: dict(DEFAULT_SEVERITY_MAP)
    )
    stale_severity: PdSeverity = "warning"
    source: str = Field(default="", max_length=255)  # payload.source; default: the service
    client_url: str = ""  # shown as "View in sloguard"; default: the dashboard link


_CLASSES = {
    Kind.STALE: "slo-evaluation-stale",
    Kind.BUDGET_THRESHOLD_CROSSED: "slo-error-budget",
    Kind.BUDGET_EXHAUSTED: "slo-error-budget",
}


def severity_for(notification: Notification, config: PagerDutyConfig) -> PdSeverity:
    if notification.kind is Kind.STALE:
        return config.stale_severity
    if notification.kind in BUDGET_SEVERITY:
        return BUDGET_SEVERITY[notification.kind]
    for sev, pd_severity in config.severity_map.items():
        if sev == notification.severity:
            return pd_severity
    for sev, pd_severity in DEFAULT_SEVERITY_MAP.items():
        if sev == notification.severity:
            return pd_severity
    return "critical"  # an unknown severity pages rather than hides


def dedup_key(notification: Notification) -> str:
    """The alert's key (:func:`~sloguard.notify._text.alert_key`): the episode id, the
    episode's stale alert its own, each line of a budget its own."""
    return alert_key(notification, DEDUP_KEY_MAX)


def custom_details(notification: Notification) -> dict[str, Any]:
    n = notification
    details: dict[str, Any] = {
        "slo": n.slo,
        "service": n.service,
        "severity": n.severity,
        "objective_percent": n.objective_percent,
        "period": n.period,
        "burn_rates": dict(n.burn_rates),
        "thresholds": dict(n.thresholds),
        "error_budget_remaining": n.error_budget_remaining,
        "time_to_exhaustion_seconds": n.time_to_exhaustion_seconds,
        "episode_id": n.episode_id,
        "evaluated_at": iso_time(n.at),
    }
    if n.threshold_percent is not None:
        details["budget_line_percent"] = n.threshold_percent
    if n.previous_severity:
        details["previous_severity"] = n.previous_severity
    if n.owner:
        details["owner"] = dict(n.owner)
    if n.labels:
        details["labels"] = dict(n.labels)
    if n.description:
        details["description"] = n.description
    if n.incident_channel:
        details["incident_channel"] = n.incident_channel
    if n.bridge_url:
        details["bridge_url"] = n.bridge_url
    if n.runbook:
        details["runbook"] = {k: list(v) for k, v in n.runbook.items()}
    if n.roles:
        details["roles"] = dict(n.roles)
    return details


def links(notification: Notification) -> list[dict[str, str]]:
    out = []
    if notification.bridge_url:  # first: whoever is paged joins the bridge at once
        out.append({"href": notification.bridge_url, "text": "Incident bridge"})
    if notification.runbook_url:
        out.append({"href": notification.runbook_url, "text": "Runbook"})
    if notification.dashboard_url:
        out.append({"href": notification.dashboard_url, "text": "Dashboard"})
    return out


def build_payload(notification: Notification, config: PagerDutyConfig) -> dict[str, Any]:
    """The event body without ``routing_key`` (a secret; :meth:`PagerDutyNotifier.send` adds
    it). RESOLVED gives the resolve event for the episode's key."""
    n = notification
    if n.kind in (Kind.RESOLVED, Kind.BUDGET_RECOVERED):
        return {"event_action": "resolve", "dedup_key": dedup_key(n)}
    body: dict[str, Any] = {
        "event_action": "trigger",
        "dedup_key": dedup_key(n),
        "payload": {
            "summary": truncate(headline(n), SUMMARY_MAX),
            "source": config.source or n.service or "sloguard",
            "severity": severity_for(n, config),
            "timestamp": iso_time(n.at),
            "component": n.service,
            "group": n.owner.get("team", "") or n.slo,
            "class": _CLASSES.get(n.kind, "slo-burn-rate"),
            "custom_details": custom_details(n),
        },
        "client": "sloguard",
    }
    client_url = config.client_url or n.dashboard_url
    if client_url:
        body["client_url"] = client_url
    if link_list := links(n):
        body["links"] = link_list
    return body


def stale_resolve_payload(notification: Notification) -> dict[str, Any]:
    """On RESOLVED, also close the episode's stale alert (a no-op 202 when none is open)."""
    key = stale_key(notification.episode_id, DEDUP_KEY_MAX)
    return {"event_action": "resolve", "dedup_key": key}


class PagerDutyNotifier(HttpNotifier[PagerDutyConfig]):
    integration = "pagerduty"
    rate_limit_per_minute = RATE_LIMIT_PER_MINUTE  # per routing key
    retry_after_429_seconds = RETRY_AFTER_429_SECONDS

    def __init__(
        self, config: PagerDutyConfig, client: httpx.AsyncClient, *, routing_key: str
    ) -> None:
        super().__init__(
            config,
            client,
            secrets=[routing_key],
            rate_limit_on=routing_key,
            shown={"url": config.url},
        )
        self._routing_key = routing_key

    async def _deliver(self, notification: Notification) -> None:
        bodies = [build_payload(notification, self._config)]
        if notification.kind is Kind.RESOLVED:
            bodies.append(stale_resolve_payload(notification))
        for body in bodies:
            await self._request(
                "POST",
                self._config.url,
                f"{body['event_action']} {body['dedup_key']}",
                json={"routing_key": self._routing_key, **body},
                headers={"Accept": "application/json"},
            )
