"""What every notifier shares: the Notification it delivers, the Notifier port, config basics.

A Notification is the content of one outbox row. It is built once by the engine from the
lifecycle event and stored as JSON, so a retry after a restart sends the very same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """What happened to an episode. Only these reach receivers."""

    DECLARED = "declared"  # OK -> SEVn: trigger / create / incident.declared
    ESCALATED = "escalated"  # SEVn -> higher: re-trigger the same key with the higher severity
    RESOLVED = "resolved"  # burn over (after the quiet period): resolve / close
    STALE = "stale"  # no data or Prometheus unreachable for too long while an episode is open


@dataclass(frozen=True, slots=True)
class Notification:
    """Everything a receiver needs, already decided. JSON-serialisable via :meth:`to_json`."""

    kind: Kind
    episode_id: str  # stable per burn episode: PagerDuty dedup_key, Opsgenie alias, webhook-id base
    event_id: str  # unique per (episode, transition): idempotency key of this one delivery
    slo: str
    service: str
    severity: str  # "SEV1" | "SEV2" | "SEV3" (for RESOLVED: the highest the episode reached)
    previous_severity: str | None
    at: float  # unix seconds of the evaluation that caused it
    summary: str  # one line an engineer can act on
    objective_percent: float
    period: str  # "30d"
    burn_rates: Mapping[str, float | None] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)  # "SEV1 1h/5m" -> 14.4
    error_budget_remaining: float | None = None
    time_to_exhaustion_seconds: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str = ""
    dashboard_url: str = ""
    description: str = ""
    postmortem_markdown: str = ""  # filled on RESOLVED

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["burn_rates"] = dict(self.burn_rates)
        data["thresholds"] = dict(self.thresholds)
        data["labels"] = dict(self.labels)
        data["owner"] = dict(self.owner)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        values = dict(data)
        values["kind"] = Kind(values["kind"])
        return cls(**values)


class Notifier(Protocol):
    """One configured destination. ``send`` raises TransientDeliveryError (retry later, maybe
    with ``retry_after_seconds``) or PermanentDeliveryError (dead letter); returning means the
    receiver accepted it."""

    name: str  # the config's name, e.g. "pd"
    integration: str  # "pagerduty" | "opsgenie" | "webhook" | "slack": a bounded metric label

    @property
    def rate_limit_key(self) -> str | None:
        """Deliveries sharing this key share a rate limit (PagerDuty: per routing key)."""
        ...

    @property
    def rate_limit_per_minute(self) -> int | None: ...

    async def send(self, notification: Notification) -> None: ...


class NotifierConfigBase(BaseModel):
    """Fields every notifier config has. Subclasses add ``type: Literal[...]`` and their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$", max_length=63)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
