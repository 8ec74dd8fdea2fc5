"""The delivery loop: drains the durable outbox into the notifiers, at least once, in order.

The pipeline of one row, in this order (cf. Alertmanager's notify pipeline):

1. **order** - only the oldest pending row of each (notifier, episode) is due, so a resolve
   never overtakes its trigger (:meth:`sloguard.ports.Store.due`);
2. **expire / orphan** - rows older than ``give_up_after_seconds``, or for a notifier no longer
   configured, go to the dead letters;
3. **rate limit** - deliveries sharing ``Notifier.rate_limit_key`` stay under
   ``rate_limit_per_minute`` (PagerDuty: 120 events per minute per routing key); a row over
   the limit is deferred, which does not count as an attempt;
4. **send** with a per-attempt timeout;
5. **record** the outcome in the same database: delivered; retry after an exponential backoff
   with jitter, or after the receiver's ``Retry-After`` when it is longer; dead letter for a
   permanent refusal (400, 401, 403, 404, 422), with a log line.

Rows are taken in batches of the oldest due (``batch``, one row per episode queue), sent
``concurrency`` at a time, and a batch's outcomes are committed together once each has its
answer: a mass outage costs one disk sync per batch, not one per notification.

A crash between the send and the record sends the row again after restart (at most the batch
in flight): the vendor's dedup key (PagerDuty ``dedup_key``, Opsgenie ``alias``, the webhook's
``webhook-id``) makes that harmless. Nothing is lost: a row leaves ``pending`` only once its
outcome is committed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from sloguard.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from sloguard.ports import Clock, Notifier, Shards, Store
from sloguard.records import Attempt, Notification, Pending
from sloguard.sink import MetricsSink, NoMetrics, NotificationOutcome

log = logging.getLogger("sloguard.delivery")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_backoff_seconds: float = 5.0
    max_backoff_seconds: float = 300.0
    multiplier: float = 2.0
    jitter_ratio: float = 0.2  # each wait is spread over +/- this share, so retries de-synchronise
    attempt_timeout_seconds: float = 30.0
    max_retry_after_seconds: float = 3600.0  # a receiver's Retry-After is honoured up to this
    give_up_after_seconds: float = 86400.0  # then the row is a dead letter


def backoff_seconds(attempts: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Wait after the ``attempts``-th failed attempt (1-based): exponential, capped, jittered."""
    exponent = max(attempts - 1, 0)
    base = min(
        policy.max_backoff_seconds, policy.initial_backoff_seconds * policy.multiplier**exponent
    )
    spread = 1.0 + policy.jitter_ratio * (2.0 * rng.random() - 1.0)
    return base * spread


class RateLimiter:
    """Sliding one-minute windows per key, on the monotonic clock."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}

    def wait_seconds(self, key: str, per_minute: int, now: float) -> float:
        """How long until one more send under ``key`` stays within ``per_minute``."""
        sent = self._sent.setdefault(key, deque())
        while sent and sent[0] <= now - 60.0:
            sent.popleft()
        if len(sent) < per_minute:
            return 0.0
        return sent[len(sent) - per_minute] + 60.0 - now

    def record(self, key: str, now: float) -> None:
        self._sent.setdefault(key, deque()).append(now)


@dataclass(frozen=True, slots=True)
class DrainReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    fenced: int = 0  # held back: this replica's lease on the row's shard may have run out

    def __add__(self, other: DrainReport) -> DrainReport:
        return DrainReport(
            self.delivered + other.delivered,
            self.retried + other.retried,
            self.dead + other.dead,
            self.deferred + other.deferred,
            self.fenced + other.fenced,
        )


class Deliverer:
    """Sends due outbox rows through the configured notifiers (by name)."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        concurrency: int = 8,
        batch: int = 100,
        metrics: MetricsSink | None = None,
        shards: Shards | None = None,
    ) -> None:
        self.store = store
        # With several replicas: nothing is sent for a shard whose lease may have run out.
        self.shards = shards
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)  # nosec B311
        self.metrics: MetricsSink = metrics or NoMetrics()
        self._limiter = RateLimiter()
        self._concurrency = concurrency
        self._batch = batch

    async def drain(self) -> DrainReport:
        """One delivery pass: send everything due now, following each queue as it frees up.

        Each row is attempted at most once per pass; rows that must wait stay pending.
        """
        report = DrainReport()
        seen: set[int] = set()
        gate = asyncio.Semaphore(self._concurrency)  # per pass: a semaphore binds to its loop
        while True:
            rows = [r for r in self.store.due(self.clock.now(), self._batch) if r.id not in seen]
            if not rows:
                counts = self.store.counts()
                self.metrics.set_outbox(counts.pending, counts.dead)
                return report
            seen.update(r.id for r in rows)
            for result in await self._batch_of(rows, gate):
                report += _counted(result)

    async def _batch_of(self, rows: list[Pending], gate: asyncio.Semaphore) -> list[Attempt | None]:
        """Send ``rows`` (at most one per episode queue) concurrently, then record every
        outcome in one transaction: one disk sync per batch, not per row. Rows of different
        episodes overtake each other; an episode's next row is due only once this is recorded.

        Cancelled (a shutdown past its budget), it records what already had its answer.
        """
        tasks = [asyncio.ensure_future(self._one(row, gate)) for row in rows]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()  # a no-op once done; after a failure, the rest are not sent
            answered = [_answer(t) for t in tasks if t.done() and not t.cancelled()]
            self.store.record_attempts([a for a in answered if a is not None])
        return [t.result() for t in tasks]

    async def _one(self, row: Pending, gate: asyncio.Semaphore) -> Attempt | None:
        async with gate:
            return await self._deliver(row)

    async def _deliver(self, row: Pending) -> Attempt | None:
        """Send ``row`` and say what became of it (None: held back, fenced), for the batch's
        record."""
        if self.shards is not None and not self.shards.may_send(row.slo):
            return None  # the lease may be gone: its holder (us, later?) sends
        now = self.clock.now()
        notifier = self.notifiers.get(row.notifier)
        if notifier is None:
            message = f"notifier {row.notifier!r} is no longer configured"
            return self._dead(row, "unknown", message)
        integration = notifier.integration
        if now - row.created_at > self.policy.give_up_after_seconds:
            message = f"gave up after {now - row.created_at:.0f}s undelivered"
            return self._dead(row, integration, message)
        try:
            notification = Notification.from_json(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            message = f"unreadable outbox row: {type(exc).__name__}"
            return self._dead(row, integration, message)
        key, limit = notifier.rate_limit_key, notifier.rate_limit_per_minute
        if key is not None and limit:
            wait = self._limiter.wait_seconds(key, limit, self.clock.monotonic())
            if wait > 0:
                return Attempt(row.id, now, "deferred", next_attempt_at=now + wait)
            self._limiter.record(key, self.clock.monotonic())
        started = self.clock.monotonic()
        try:
            await asyncio.wait_for(
                notifier.send(notification), timeout=self.policy.attempt_timeout_seconds
            )
        except PermanentDeliveryError as exc:
            return self._dead(
                row,
                integration,
                str(exc),
                status=exc.status,
                duration=self._since(started),
                attempted=True,
            )
        except TransientDeliveryError as exc:
            return self._retry(
                row,
                integration,
                str(exc),
                exc.status,
                exc.retry_after_seconds,
                self._since(started),
            )
        except TimeoutError:
            message = f"no answer within {self.policy.attempt_timeout_seconds:g}s"
            return self._retry(row, integration, message, None, None, self._since(started))
        except DeliveryError as exc:
            return self._retry(row, integration, str(exc), exc.status, None, self._since(started))
        except Exception as exc:  # noqa: BLE001 - the per-delivery boundary: log, count, go on
            # Only the type: a third-party message may carry a URL with a secret in it.
            message = f"unexpected {type(exc).__name__} in notifier {row.notifier!r}"
            return self._retry(row, integration, message, None, None, self._since(started))
        delivered = Attempt(
            row.id, self.clock.now(), "delivered", duration_seconds=self._since(started)
        )
        self.metrics.count_notification(integration, NotificationOutcome.SENT)
        log.info(
            "delivered %s of %s to %s",
            row.kind,
            row.slo,
            row.notifier,
            extra=_fields(row, integration, attempts=row.attempts + 1),
        )
        return delivered

    def _since(self, started: float) -> float:
        return max(self.clock.monotonic() - started, 0.0)

    def _retry(
        self,
        row: Pending,
        integration: str,
        message: str,
        status: int | None,
        retry_after: float | None,
        duration: float,
    ) -> Attempt:
        now = self.clock.now()
        wait = backoff_seconds(row.attempts + 1, self.policy, self.rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.policy.max_retry_after_seconds))
        self.metrics.count_notification(integration, NotificationOutcome.RETRY)
        log.warning(
            "delivery of %s of %s to %s failed (%s), retrying in %.0fs",
            row.kind,
            row.slo,
            row.notifier,
            message,
            wait,
            extra=_fields(row, integration, attempts=row.attempts + 1, status=status),
        )
        return Attempt(row.id, now, "retry", status, message, duration, now + wait)

    def _dead(
        self,
        row: Pending,
        integration: str,
        message: str,
        *,
        status: int | None = None,
        duration: float = 0.0,
        attempted: bool = False,
    ) -> Attempt:
        dead = Attempt(row.id, self.clock.now(), "dead", status, message, duration, None, attempted)
        self.metrics.count_notification(integration, NotificationOutcome.DEAD_LETTER)
        log.error(
            "dead letter: %s of %s to %s: %s",
            row.kind,
            row.slo,
            row.notifier,
            message,
            extra=_fields(row, integration, attempts=row.attempts, status=status),
        )
        return dead


def _answer(task: asyncio.Future[Attempt | None]) -> Attempt | None:
    """A finished send's outcome; None when it failed outside the per-delivery boundary."""
    return None if task.exception() is not None else task.result()


def _counted(attempt: Attempt | None) -> DrainReport:
    """One row's share of a pass's report (None: held back by the fence)."""
    if attempt is None:
        return DrainReport(fenced=1)
    outcome = attempt.outcome
    return DrainReport(
        delivered=int(outcome == "delivered"),
        retried=int(outcome == "retry"),
        dead=int(outcome == "dead"),
        deferred=int(outcome == "deferred"),
    )


def _fields(
    row: Pending, integration: str, *, attempts: int, status: int | None = None
) -> dict[str, object]:
    """Structured log fields: what burns, how bad, and the dedup key to find it at the vendor."""
    return {
        "slo": row.slo,
        "severity": row.severity,
        "dedup_key": row.episode_id,
        "event_id": row.event_id,
        "notifier": row.notifier,
        "integration": integration,
        "attempts": attempts,
        "status": status,
    }
