"""The seams between services and edges: small Protocols, so tests plug in fakes or local servers.

- :class:`Source`: where error ratios come from (Prometheus); :class:`BulkSource` one that
  also answers a query of every SLO's recorded series by ``sloth_id`` in one pass, and
  :class:`LabelSource` one that answers which values some labels take (the rules probe).
- :class:`Notifier`: one configured destination delivery sends to (PagerDuty, Opsgenie, ...).
- :class:`Store`: episode state, history and the durable outbox (SQLite today; the types in
  its signatures are sloguard's own records, so another engine can implement it).
- :class:`Clock`: injected time.
- :class:`Shards`: which SLO keys this replica works on (all of them, or its leased shards).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the Store's types: a one-shot command that only asks a Source skips them
    from sloguard.lifecycle import EpisodeState, Event
    from sloguard.records import (
        Attempt,
        EpisodeRecord,
        Notification,
        OutboxCounts,
        OutboxRow,
        Pending,
    )


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of an instant vector: its labels and value at the query instant."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a range query: (unix seconds, value) points in time order."""

    labels: Mapping[str, str]
    points: Sequence[tuple[float, float]]


QUERY_TENANT: ContextVar[str | None] = ContextVar("sloguard_query_tenant", default=None)
"""The Mimir/Cortex tenant of the queries asked in this context (an SLO's ``tenant``); None:
the source's own. The engine sets it around one tenant's queries; the Prometheus client sends
it as ``X-Scope-OrgID``. A context variable, so it travels with the queries through every
wrapper of a Source (reachability, reload) without each of them passing it on."""


@contextmanager
def asking_as(tenant: str | None) -> Iterator[None]:
    """Every query asked inside goes to ``tenant`` (None: the source's own); tasks started
    inside keep it (they copy the context)."""
    token = QUERY_TENANT.set(tenant)
    try:
        yield
    finally:
        QUERY_TENANT.reset(token)


class Source(Protocol):
    """Where error ratios come from (Prometheus, or a fake in unit tests)."""

    async def query(self, expr: str, at: float) -> list[Sample]:
        """Instant query at unix time ``at``. Raises :class:`sloguard.errors.SourceError`."""
        ...

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Range query. Raises :class:`sloguard.errors.SourceError`."""
        ...


# One answer of a recorded series for many SLOs, by sloth_id: the value of an ungrouped SLO's
# one series, or the series of a grouped SLO (or of an SLO with several where one was expected).
BySlothId = dict[str, "list[Sample] | float"]


def by_sloth_id(samples: Sequence[Sample], sids: Mapping[str, str], grouped: Set[str]) -> BySlothId:
    """One answer of a recorded series, by ``sloth_id``: the series of each SLO, or just the
    value of the one series of an ungrouped SLO (all it reads; the labels are dropped).

    ``sids`` maps each wanted ``sloth_id`` to itself, so the keys are the caller's strings and
    not one more copy per answer; series of other SLOs (no one reads them) are left out.
    ``grouped`` holds the ids of grouped SLOs. The definition of
    :meth:`BulkSource.query_by_sloth_id`.
    """
    one: dict[str, Sample] = {}  # the first series of each SLO: for nearly all, its only one
    several: dict[str, list[Sample]] = {}
    for sample in samples:
        sid = sids.get(sample.labels.get("sloth_id", ""))
        if sid is None:
            continue
        if sid in one:
            several.setdefault(sid, [one[sid]]).append(sample)
        else:
            one[sid] = sample
    out: BySlothId = {sid: sample.value for sid, sample in one.items()}
    for sid in one.keys() & grouped:
        out[sid] = [one[sid]]
    out.update(several)
    return out


@runtime_checkable
class BulkSource(Source, Protocol):
    """A Source that answers a query of many SLOs' recorded series straight by ``sloth_id``,
    without a :class:`Sample` per series (at 10,000 SLOs, 150,000 per tick): the Prometheus
    client reads them off its JSON in one pass. Sources without it are asked
    :meth:`Source.query` and split by :func:`by_sloth_id`."""

    async def query_by_sloth_id(
        self, expr: str, at: float, sids: Mapping[str, str], grouped: Set[str]
    ) -> BySlothId:
        """``by_sloth_id(await self.query(expr, at), sids, grouped)``, equal to it (the same
        values, NaN and -0.0 included) and raising what it raises."""
        ...


async def read_by_sloth_id(
    source: Source, expr: str, at: float, sids: Mapping[str, str], grouped: Set[str]
) -> BySlothId:
    """``source``'s answer to ``expr`` at ``at`` by ``sloth_id``: its own
    :meth:`BulkSource.query_by_sloth_id` when it has one, else its :meth:`Source.query` split
    by :func:`by_sloth_id`."""
    if isinstance(source, BulkSource):
        return await source.query_by_sloth_id(expr, at, sids, grouped)
    return by_sloth_id(await source.query(expr, at), sids, grouped)


def label_values(samples: Iterable[Sample], names: Sequence[str]) -> set[tuple[str, ...]]:
    """The distinct values of the labels ``names`` over ``samples`` ("" for a label a series
    lacks), each a tuple in the order of ``names``. The definition of
    :meth:`LabelSource.query_label_values`."""
    return {tuple(s.labels.get(n, "") for n in names) for s in samples}


@runtime_checkable
class LabelSource(Source, Protocol):
    """A Source that answers which values some labels take over an instant answer without a
    :class:`Sample` per series: the recorded-rules probe asks it for the ``sloth_id`` and the
    rules' hash of every SLO (at 10,000 SLOs, two answers of 10,000 series per tick). Sources
    without it are asked :meth:`Source.query` and read by :func:`label_values`."""

    async def query_label_values(
        self, expr: str, at: float, names: Sequence[str]
    ) -> set[tuple[str, ...]]:
        """``label_values(await self.query(expr, at), names)``, equal to it and raising what
        it raises."""
        ...


async def read_label_values(
    source: Source, expr: str, at: float, names: Sequence[str]
) -> set[tuple[str, ...]]:
    """The values the labels ``names`` take over ``source``'s answer to ``expr`` at ``at``: its
    own :meth:`LabelSource.query_label_values` when it has one, else :func:`label_values` of
    its :meth:`Source.query`."""
    if isinstance(source, LabelSource):
        return await source.query_label_values(expr, at, names)
    return label_values(await source.query(expr, at), names)


class Notifier(Protocol):
    """One configured destination. ``send`` raises TransientDeliveryError (retry later, maybe
    with ``retry_after_seconds``) or PermanentDeliveryError (dead letter); returning means the
    receiver accepted it."""

    name: str  # the config's name, e.g. "pd"
    integration: str  # the config's ``type`` ("pagerduty", "slack_app", ...): a bounded label

    @property
    def rate_limit_key(self) -> str | None:
        """Deliveries sharing this key share a rate limit (PagerDuty: per routing key)."""
        ...

    @property
    def rate_limit_per_minute(self) -> int | None:
        """The budget of one :attr:`rate_limit_key`; None: no limit of ours (a 429 tells)."""
        ...

    async def send(self, notification: Notification) -> None: ...


class Store(Protocol):
    """Episode state, episode history and the durable outbox. Every method raises
    :class:`sloguard.errors.StoreError` when the database fails; none reads a clock (times are
    arguments)."""

    def close(self) -> None: ...

    def load_states(self) -> dict[str, EpisodeState]:
        """The last committed state of every SLO key."""
        ...

    def commit(
        self, state: EpisodeState, events: Sequence[Event], rows: Sequence[OutboxRow], at: float
    ) -> int:
        """One SLO's new state, transitions and outbox rows in one transaction; rows queued."""
        ...

    def commit_many(
        self,
        changes: Sequence[tuple[EpisodeState, Sequence[Event], Sequence[OutboxRow]]],
        at: float,
        *,
        seen: Sequence[EpisodeState] = (),
    ) -> list[int]:
        """Many keys' changes in one transaction (``seen``: only ``last_at`` and its budget)."""
        ...

    def due(self, now: float, limit: int = 100) -> list[Pending]:
        """Pending rows whose time has come and that head their (notifier, episode) queue."""
        ...

    def next_due_at(self) -> float | None:
        """When the earliest pending row becomes due, or None."""
        ...

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        """What became of a batch of due rows (delivered, retry, dead, deferred), in one
        transaction: all or nothing."""
        ...

    def counts(self) -> OutboxCounts: ...

    def episodes(self, slo: str | None = None) -> list[EpisodeRecord]:
        """Every episode (of ``slo``, if given), oldest first, with its history."""
        ...

    def episode(self, episode_id: str) -> EpisodeRecord | None: ...

    def latest_payload(self, episode_id: str) -> dict[str, Any] | None:
        """The newest notification queued for the episode, as JSON, or None."""
        ...


class Shards(Protocol):
    """The shards of SLO keys this replica holds (sloguard.ha on PostgreSQL). Without one, a
    daemon works on every key (SQLite: one replica)."""

    def claim(self) -> bool:
        """Renew and take leases (once per tick). True when the held shards changed, so the
        committed states must be read again. Raises StoreError."""
        ...

    def owns(self, key: str) -> bool:
        """Whether this replica evaluates and commits ``key`` now."""
        ...

    def may_send(self, key: str) -> bool:
        """Whether a notification of ``key`` may be sent now (lease held and not run out)."""
        ...

    @property
    def held(self) -> int:
        """How many shards this replica holds now (0: a standby)."""
        ...


class NotifierState(Protocol):
    """Per-episode memory of a notifier that makes several calls for one notification (the
    Slack incident channel: its id, the steps done, the messages posted). Each step is saved
    as soon as the vendor accepted it, so a retry or a restart redoes at most the one step in
    flight, and the vendor-side lookups (a taken channel name, open incidents' metadata)
    cover that one. Raises :class:`sloguard.errors.StoreError`."""

    def notifier_state(self, notifier: str, episode_id: str) -> dict[str, Any]: ...

    def save_notifier_state(
        self, notifier: str, episode_id: str, state: Mapping[str, Any], at: float
    ) -> None: ...


class MemoryNotifierState:
    """A :class:`NotifierState` in memory: for a one-shot run without a state file, and tests."""

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], dict[str, Any]] = {}

    def notifier_state(self, notifier: str, episode_id: str) -> dict[str, Any]:
        return dict(self._states.get((notifier, episode_id), {}))

    def save_notifier_state(
        self, notifier: str, episode_id: str, state: Mapping[str, Any], at: float
    ) -> None:
        self._states[(notifier, episode_id)] = dict(state)


class Clock(Protocol):
    """Injected time, so nothing in sloguard reads the wall clock directly."""

    def now(self) -> float:
        """Wall-clock unix seconds (what Prometheus and receivers see)."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring intervals; never jumps."""
        ...

    async def sleep(self, seconds: float) -> None: ...
