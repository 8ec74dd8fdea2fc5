"""In-test fakes that check what they are given: a fake that accepts anything proves nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sloguard.errors import DeliveryError
from sloguard.records import Kind, Notification
from sloguard.sink import FastOutcome, NoMetrics, NotificationOutcome, TickOutcome

# A script entry: an exception to raise for this attempt, or None to accept it.
Outcome = DeliveryError | BaseException | None


@dataclass
class FakeNotifier:
    """Records accepted notifications and enforces the vendors' episode semantics.

    * a ``resolved``/``escalated``/``stale`` for an episode it never saw declared is a protocol
      violation (PagerDuty would open a new incident; a webhook receiver would 404);
    * a second acceptance of the same ``event_id`` counts as a duplicate (at-least-once is
      allowed, so duplicates are counted, not refused: tests assert on them).
    """

    name: str = "pd"
    integration: str = "pagerduty"
    limit_key: str | None = None
    limit_per_minute: int | None = None
    script: list[Outcome] = field(default_factory=list)
    fail_while: Callable[[], Outcome] | None = None
    hang: bool = False
    accepted: list[Notification] = field(default_factory=list)
    attempts: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def rate_limit_key(self) -> str | None:
        return self.limit_key

    @property
    def rate_limit_per_minute(self) -> int | None:
        return self.limit_per_minute

    async def send(self, notification: Notification) -> None:
        self.attempts += 1
        if self.hang:
            await asyncio.Event().wait()
        outcome = self.script.pop(0) if self.script else None
        if outcome is None and self.fail_while is not None:
            outcome = self.fail_while()
        if outcome is not None:
            raise outcome
        opened = {n.episode_id for n in self.accepted if n.kind is Kind.DECLARED}
        if notification.kind is not Kind.DECLARED and notification.episode_id not in opened:
            self.violations.append(f"{notification.kind.value} before declared")
        self.accepted.append(notification)

    @property
    def kinds(self) -> list[str]:
        return [n.kind.value for n in self.accepted]

    @property
    def duplicates(self) -> int:
        ids = [n.event_id for n in self.accepted]
        return len(ids) - len(set(ids))


def notification(
    kind: Kind = Kind.DECLARED,
    *,
    episode: str = "sloguard-ep1",
    at: float = 1000.0,
    slo: str = "checkout",
    severity: str = "SEV1",
) -> Notification:
    return Notification(
        kind=kind,
        episode_id=episode,
        event_id=f"{episode}-{kind.value}-{at!r}",
        slo=slo,
        service="checkout",
        severity=severity,
        previous_severity=None,
        at=at,
        summary=f"{slo} {kind.value}",
        objective_percent=99.9,
        period="30d",
    )


class RecordingMetrics(NoMetrics):
    """A metrics sink that keeps what the tick and the delivery reported."""

    def __init__(self) -> None:
        self.notifications: Counter[tuple[str, str]] = Counter()
        self.ticks: list[tuple[float, TickOutcome]] = []
        self.fast: list[tuple[FastOutcome | None, int]] = []
        self.outbox: tuple[int, int] | None = None
        self.prometheus_up: bool | None = None

    def count_notification(
        self, integration: str, outcome: NotificationOutcome, n: int = 1
    ) -> None:
        self.notifications[(integration, NotificationOutcome(outcome).value)] += n

    def observe_tick(self, duration_seconds: float, outcome: TickOutcome, *, at: float) -> None:
        self.ticks.append((duration_seconds, outcome))

    def observe_fast_path(self, outcome: FastOutcome | None, slos: int) -> None:
        self.fast.append((outcome, slos))

    def set_outbox(self, pending: int, dead_letters: int) -> None:
        self.outbox = (pending, dead_letters)

    def set_prometheus_up(self, up: bool) -> None:
        self.prometheus_up = up
