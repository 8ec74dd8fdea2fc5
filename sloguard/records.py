"""The records services pass around and the store keeps: pure data, no I/O.

A :class:`Notification` is the content of one outbox row. It is built once by the tick from the
lifecycle event and stored as JSON, so a retry after a restart sends the very same thing. The
other records are what the store gives back (queued rows, counts, episode history), kept here so
the core, paging and the postmortem read them without importing a database driver.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from sloguard.durations import iso_time

CHANNEL_NAME_MAX = 80  # Slack's limit for conversations.create names


class Kind(StrEnum):
    """What happened to an episode. Only these reach receivers."""

    DECLARED = "declared"  # OK -> SEVn: trigger / create / incident.declared
    ESCALATED = "escalated"  # SEVn -> higher: re-trigger the same key with the higher severity
    # SEVn -> lower, still firing. Only notifiers that follow an incident's severity hear it
    # (routing.dispatch, ``followers``): a page is never re-sent to say it matters less.
    DEESCALATED = "deescalated"
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
    period: str  # "30d", or "calendar month (UTC)"
    # The real length of the SLO's period at ``at`` (a calendar month's 28 to 31 days): what
    # "x% of the budget gone in 1h" is a share of. None in rows queued by an older sloguard.
    period_seconds: float | None = None
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
    # The incident after the page (spec.runbook, spec.incident, spec.status_page): the runbook's
    # steps by section, Slack user IDs by role, more users or groups to invite, the video
    # bridge, the incident channel's name ("#inc-...", when a slack_app notifier is configured)
    # and the status-page component ({"component_id", "name"}).
    runbook: Mapping[str, Sequence[str]] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    invite: Sequence[str] = ()
    bridge_url: str = ""
    incident_channel: str = ""
    status_component: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["burn_rates"] = dict(self.burn_rates)
        data["thresholds"] = dict(self.thresholds)
        data["labels"] = dict(self.labels)
        data["owner"] = dict(self.owner)
        data["runbook"] = {k: list(v) for k, v in self.runbook.items()}
        data["roles"] = dict(self.roles)
        data["invite"] = list(self.invite)
        data["status_component"] = dict(self.status_component)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        values = dict(data)
        values["kind"] = Kind(values["kind"])
        if "invite" in values:
            values["invite"] = tuple(values["invite"])
        return cls(**values)


def incident_channel_name(slo: str, episode_id: str, declared_at: float) -> str:
    """The Slack channel of one episode: ``inc-20240318-checkout-availability-1a2b3c``.

    Readable (date and SLO), valid (lowercase letters, digits, ``-``; at most 80 characters)
    and derived from the episode alone, so the page can name it before the channel exists and
    a retry after a crash between create and commit finds the same name taken by the same
    incident, never a second channel. The suffix keeps two episodes of one day apart.
    """
    day = iso_time(declared_at)[:10].replace("-", "")
    slug = re.sub(r"[^a-z0-9]+", "-", slo.lower()).strip("-") or "slo"
    suffix = hashlib.sha256(episode_id.encode()).hexdigest()[:6]
    room = CHANNEL_NAME_MAX - len(f"inc-{day}--{suffix}")
    return f"inc-{day}-{slug[:room].strip('-')}-{suffix}"


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
class Attempt:
    """What became of one due outbox row in a delivery pass, as the store records it.

    ``outcome``: ``delivered`` (the receiver answered 2xx), ``retry`` (again at
    ``next_attempt_at``), ``dead`` (a dead letter; ``counted`` is False when it was never sent,
    e.g. expired) or ``deferred`` (over a rate limit: postponed to ``next_attempt_at``, which is
    no attempt and leaves no history). The delivery loop records a whole pass's batch in one
    transaction (:meth:`sloguard.ports.Store.record_attempts`).
    """

    row_id: int
    at: float
    outcome: Literal["delivered", "retry", "dead", "deferred"]
    status: int | None = None
    error: str = ""
    duration_seconds: float = 0.0
    next_attempt_at: float | None = None
    counted: bool = True


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
    next_attempt_at: float | None = None  # when a pending row is tried (again); None once done


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
