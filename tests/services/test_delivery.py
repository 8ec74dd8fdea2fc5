"""The delivery loop over a real SQLite outbox, a ManualClock and fake notifiers."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sloguard.clock import ManualClock
from sloguard.delivery import Deliverer, RetryPolicy, backoff_seconds
from sloguard.errors import PermanentDeliveryError, StoreError, TransientDeliveryError
from sloguard.lifecycle import EpisodeState
from sloguard.records import Attempt, Kind, OutboxRow
from sloguard.store import Store
from tests.support.fakes import FakeNotifier, RecordingMetrics, notification

T0 = 1_704_067_200.0
POLICY = RetryPolicy(initial_backoff_seconds=5, max_backoff_seconds=300, jitter_ratio=0.2)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state.db")
    yield s
    s.close()


def queue(store: Store, notifier: str, *kinds: Kind, episode: str = "sloguard-ep1") -> None:
    rows = []
    for i, kind in enumerate(kinds):
        n = notification(kind, episode=episode, at=T0 + i)
        rows.append(
            OutboxRow(notifier, episode, n.event_id, kind.value, n.slo, n.severity, n.to_json())
        )
    store.commit(EpisodeState(slo="checkout"), [], rows, at=T0)


def deliverer(
    store: Store, clock: ManualClock, *notifiers: FakeNotifier, policy: RetryPolicy = POLICY
) -> Deliverer:
    return Deliverer(
        store,
        {n.name: n for n in notifiers},
        clock,
        policy=policy,
        rng=random.Random(7),
        metrics=RecordingMetrics(),
    )


def count(d: Deliverer, outcome: str, integration: str = "pagerduty") -> int:
    """Attempts of ``integration`` that came to ``outcome``, as the metrics were told."""
    assert isinstance(d.metrics, RecordingMetrics)
    return d.metrics.notifications[(integration, outcome)]


def drain(d: Deliverer) -> None:
    asyncio.run(d.drain())


def test_delivers_all_rows_of_an_episode_in_one_pass(store: Store) -> None:
    clock = ManualClock(T0)
    pd = FakeNotifier()
    queue(store, "pd", Kind.DECLARED, Kind.ESCALATED, Kind.RESOLVED)
    d = deliverer(store, clock, pd)
    drain(d)
    assert pd.kinds == ["declared", "escalated", "resolved"]
    assert count(d, "sent") == 3
    assert store.counts().pending == 0
    drain(d)
    assert pd.attempts == 3  # nothing is sent twice


@pytest.mark.parametrize("attempts", [1, 2, 3, 6, 10, 20])
def test_backoff_is_exponential_capped_and_jittered(attempts: int) -> None:
    rng = random.Random(1)
    base = min(300.0, 5.0 * 2 ** (attempts - 1))
    waits = [backoff_seconds(attempts, POLICY, rng) for _ in range(200)]
    assert all(base * 0.8 <= w <= base * 1.2 for w in waits)
    assert len({round(w, 6) for w in waits}) > 100  # jittered, not one fixed value


def test_transient_failures_back_off_then_deliver(store: Store) -> None:
    clock = ManualClock(T0)
    err = TransientDeliveryError("HTTP 503", status=503)
    pd = FakeNotifier(script=[err, err, err])
    queue(store, "pd", Kind.DECLARED)
    d = deliverer(store, clock, pd)
    due_times = []
    for _ in range(3):
        drain(d)
        due = store.next_due_at()
        assert due is not None
        due_times.append(due - clock.now())
        clock.advance(due - clock.now() - 0.001)
        drain(d)  # not yet due: no attempt
        clock.advance(0.001)
    drain(d)
    assert pd.kinds == ["declared"]
    assert pd.attempts == 4
    for attempt, wait in enumerate(due_times, start=1):
        base = 5.0 * 2 ** (attempt - 1)
        assert base * 0.8 <= wait <= base * 1.2
    assert count(d, "retry") == 3


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_wait"),
    [
        pytest.param(429, 120.0, 120.0, id="429-retry-after-longer-than-backoff"),
        pytest.param(503, 1.0, None, id="short-retry-after-keeps-backoff"),
        pytest.param(429, 99999.0, 3600.0, id="retry-after-capped"),
    ],
)
def test_retry_after_is_honoured(
    store: Store, status: int, retry_after: float, expected_wait: float | None
) -> None:
    clock = ManualClock(T0)
    pd = FakeNotifier(
        script=[TransientDeliveryError("slow down", status=status, retry_after_seconds=retry_after)]
    )
    queue(store, "pd", Kind.DECLARED)
    drain(deliverer(store, clock, pd))
    due = store.next_due_at()
    assert due is not None
    if expected_wait is None:
        assert 4.0 <= due - T0 <= 6.0
    else:
        assert due - T0 == pytest.approx(expected_wait)


def test_permanent_failure_is_dead_lettered_with_a_log_line(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(T0)
    pd = FakeNotifier(script=[PermanentDeliveryError("HTTP 400: invalid routing key", status=400)])
    queue(store, "pd", Kind.DECLARED, Kind.RESOLVED)
    d = deliverer(store, clock, pd)
    with caplog.at_level(logging.ERROR, logger="sloguard.delivery"):
        drain(d)
    assert store.counts().dead == 1
    (record,) = caplog.records
    assert "dead letter" in record.getMessage()
    assert record.__dict__["dedup_key"] == "sloguard-ep1"
    assert record.__dict__["status"] == 400
    assert count(d, "dead_letter") == 1
    # The queue behind a dead letter moves on; the receiver flags it as out of protocol.
    assert pd.kinds == ["resolved"]


def test_receiver_down_for_ten_minutes_gets_everything_in_order_once(store: Store) -> None:
    clock = ManualClock(T0)
    up_at = T0 + 600
    pd = FakeNotifier(
        fail_while=lambda: (
            TransientDeliveryError("HTTP 502", status=502) if clock.now() < up_at else None
        )
    )
    queue(store, "pd", Kind.DECLARED)
    d = deliverer(store, clock, pd)
    for tick in range(40):  # a daemon ticking every 30s for 20 minutes
        if tick == 4:
            queue(store, "pd", Kind.ESCALATED, Kind.STALE, Kind.RESOLVED)
        drain(d)
        clock.advance(30)
    assert pd.kinds == ["declared", "escalated", "stale", "resolved"]
    assert pd.duplicates == 0
    assert pd.violations == []
    assert store.counts().pending == 0
    # The backoff stayed bounded: the first delivery came soon after the receiver was back.
    (episode_rows,) = [store._db.execute("SELECT MIN(finished_at) FROM outbox").fetchone()]
    assert episode_rows[0] - up_at <= 300 * 1.2 + 30


def test_rate_limit_per_routing_key(store: Store) -> None:
    clock = ManualClock(T0)
    pd = FakeNotifier(limit_key="routing-key-hash", limit_per_minute=120)
    for i in range(130):
        queue(store, "pd", Kind.DECLARED, episode=f"sloguard-ep{i}")
    d = deliverer(store, clock, pd)
    report = asyncio.run(d.drain())
    assert len(pd.accepted) == 120
    assert report.deferred == 10
    clock.advance(59)
    drain(d)
    assert len(pd.accepted) == 120  # still within the same minute
    clock.advance(1)
    drain(d)
    assert len(pd.accepted) == 130
    assert pd.attempts == 130  # deferral is not an attempt


def test_a_hanging_receiver_times_out_and_is_retried(store: Store) -> None:
    clock = ManualClock(T0)
    pd = FakeNotifier(hang=True)
    queue(store, "pd", Kind.DECLARED)
    d = deliverer(store, clock, pd, policy=RetryPolicy(attempt_timeout_seconds=0.02))
    drain(d)
    assert store.counts().pending == 1
    assert count(d, "retry") == 1


def test_unknown_notifier_and_expired_rows_go_to_dead_letters(store: Store) -> None:
    clock = ManualClock(T0)
    queue(store, "gone", Kind.DECLARED)
    queue(store, "pd", Kind.DECLARED, episode="old")
    clock.advance(86401)
    pd = FakeNotifier()
    d = deliverer(store, clock, pd)
    drain(d)
    assert store.counts().dead == 2
    assert pd.attempts == 0
    assert count(d, "dead_letter", "unknown") == 1
    assert count(d, "dead_letter") == 1


def test_unexpected_error_is_retried_without_leaking_its_message(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(T0)
    secret = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    chat = FakeNotifier(name="chat", integration="slack", script=[RuntimeError(f"boom {secret}")])
    queue(store, "chat", Kind.DECLARED)
    d = deliverer(store, clock, chat)
    with caplog.at_level(logging.DEBUG):
        drain(d)
    assert store.counts().pending == 1
    assert "SECRETSECRET" not in caplog.text
    assert "SECRETSECRET" not in str(store._db.execute("SELECT * FROM attempts").fetchall())
    assert "unexpected RuntimeError" in caplog.text


class CountingStore(Store):
    """The real SQLite store, counting the transactions that record attempts; the first
    ``fail_records`` of them fail as a full disk (or a kill before the commit) would."""

    records: list[int]
    fail_records: int = 0

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        self.records.append(len(attempts))
        if self.fail_records:
            self.fail_records -= 1
            raise StoreError("disk full")
        super().record_attempts(attempts)


def counting_store(path: Path, fail_records: int = 0) -> CountingStore:
    s = CountingStore.open(path)
    assert isinstance(s, CountingStore)
    s.records, s.fail_records = [], fail_records
    return s


def test_a_batch_of_episodes_is_recorded_in_one_transaction(tmp_path: Path) -> None:
    """250 episodes at once (a fleet-wide outage): one commit per batch of due rows, not one
    per delivery; every episode's rows still in order."""
    store = counting_store(tmp_path / "state.db")
    for i in range(250):
        queue(store, "pd", Kind.DECLARED, Kind.RESOLVED, episode=f"sloguard-ep{i}")
    pd = FakeNotifier()
    drain(deliverer(store, ManualClock(T0), pd))
    assert sum(store.records) == 500  # every delivery recorded, in batches of at most 100:
    assert max(store.records) == 100
    assert len(store.records) == 6  # 6 commits (a resolve is due once its declare is recorded)
    assert len(pd.accepted) == 500
    assert pd.violations == []
    assert store.counts().delivered == 500
    store.close()


def test_a_batch_whose_record_fails_is_sent_again_not_lost(tmp_path: Path) -> None:
    """Sent but not recorded (the commit failed, or the process died before it): every row of
    the batch stays pending and goes out again (the vendor's dedup key absorbs the repeat);
    nothing is marked delivered that the store did not record."""
    store = counting_store(tmp_path / "state.db", fail_records=1)
    for i in range(3):
        queue(store, "pd", Kind.DECLARED, episode=f"sloguard-ep{i}")
    pd = FakeNotifier()
    d = deliverer(store, ManualClock(T0), pd)
    with pytest.raises(StoreError):
        drain(d)
    assert (pd.attempts, store.counts().pending) == (3, 3)
    drain(d)
    assert (pd.attempts, store.counts().pending, store.counts().delivered) == (6, 0, 3)
    assert sorted(n.episode_id for n in pd.accepted) == [
        f"sloguard-ep{i}" for i in (0, 0, 1, 1, 2, 2)
    ]
    store.close()


def test_a_pass_cancelled_mid_batch_records_what_was_answered(store: Store) -> None:
    """A shutdown past its budget cancels the pass: the batch's answered rows are recorded
    (not sent again after the restart); the one still waiting for its receiver stays pending."""
    queue(store, "pd", Kind.DECLARED, episode="sloguard-ep1")
    queue(store, "hook", Kind.DECLARED, episode="sloguard-ep2")
    pd, hook = FakeNotifier(), FakeNotifier(name="hook", integration="webhook", hang=True)
    d = deliverer(store, ManualClock(T0), pd, hook)

    async def shutdown() -> None:
        drain_pass = asyncio.ensure_future(d.drain())
        while not (pd.accepted and hook.attempts):
            await asyncio.sleep(0)
        drain_pass.cancel()
        with pytest.raises(asyncio.CancelledError):
            await drain_pass

    asyncio.run(shutdown())
    counts = store.counts()
    assert (counts.delivered, counts.pending) == (1, 1)
    assert [p.notifier for p in store.due(T0)] == ["hook"]
