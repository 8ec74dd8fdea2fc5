"""The records services pass around and the store keeps: pure data, no I/O.

A :class:`Notification` is the content of one outbox row. It is built once by the tick from the
lifecycle event and stored as JSON, so a retry after a restart sends the very same thing. The
other records are what the store gives back (queued rows, counts, episode history), kept here so
the core, paging and the postmortem read them without importing a database driver.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What happened to an episode. Only these reach receivers."""

    DECLARED = "declared"  # OK -> SEVn: trigger / create / incident.declared
    ESCALATED = "escalated"  # SEVn -> higher: re-trigger the same key with the higher severity
    RESOLVED = "resolved"  # burn over (after the quiet period): resolve / close
    STALE = "stale"  # no data or Prometheus unreachable for too long while an episode is open
    # The error budget crossing a line of the budget policy (sloguard.budget), no episode.
    BUDGET_THRESHOLD_CROSSED = "budget.threshold_crossed"
    BUDGET_EXHAUSTED = "budget.exhausted"
    BUDGET_RECOVERED = "budget.recovered"

    @property
    def budget(self) -> bool:
        return self.value.startswith("budget.")


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
    threshold_percent: float | None = None  # budget events: the line crossed

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


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A notification to queue: ``payload`` is ``Notification.to_json()``."""

    notifier: str
    episode_id: str
    event_id: str
    kind: str
    slo: str
    severity: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued notification as the delivery loop sees it."""

    id: int
    notifier: str
    episode_id: str
    event_id: str
    kind: str
    slo: str
    severity: str
    payload: dict[str, Any]
    attempts: int
    created_at: float


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """How many outbox rows wait, were delivered, or were given up on (dead letters)."""

    pending: int
    delivered: int
    dead: int


@dataclass(frozen=True, slots=True)
class Transition:
    """One lifecycle event of an episode, as history."""

    at: float
    kind: str
    severity: str
    previous: str | None
    paged: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row of an episode and its final outcome, as history."""

    notifier: str
    kind: str
    status: str
    attempts: int
    created_at: float
    finished_at: float | None
    last_error: str
    last_status: int | None


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """One burn as the postmortem sees it."""

    id: str
    slo: str
    declared_at: float
    resolved_at: float | None
    peak: str
    transitions: tuple[Transition, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    burn_started_at: float | None = None
    peak_burn_rate: float | None = None
    burn_seconds: float | None = None  # burn rate x seconds; / SLO period = budget share spent
    budget_remaining: float | None = None  # last known during the episode


def shard_of(key: str, shards: int) -> int:
    """The shard an SLO key belongs to: a stable hash (CRC-32, the same in every process and
    release) of its SLO's name, so every group of a grouped SLO (``name{label="v"}``) goes with
    the SLO and every replica computes the same answer."""
    name = key.partition("{")[0]
    return zlib.crc32(name.encode()) % shards if shards > 1 else 0


@dataclass(frozen=True, slots=True)
class Fence:
    """The leases one replica holds: shard -> epoch, valid until ``valid_until`` on the
    replica's own monotonic clock (measured before the lease was renewed, less a margin, so it
    ends before PostgreSQL's lease does). The store refuses a commit or a delivery record whose
    shard's epoch is no longer current; the deliverer sends nothing once ``valid_until`` has
    passed (a replica that wakes from a pause longer than its lease sends nothing)."""

    instance: str
    shards: int
    epochs: Mapping[int, int]
    valid_until: float

    def holds(self, key: str) -> bool:
        """Whether this replica evaluates, commits and delivers for ``key``."""
        return shard_of(key, self.shards) in self.epochs

    def may_send(self, key: str, monotonic_now: float) -> bool:
        """Whether a notification of ``key`` may go out now: its shard is held and the lease
        has not run out while this replica was not looking."""
        return self.holds(key) and monotonic_now < self.valid_until
