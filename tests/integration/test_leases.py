"""Shard leases and fencing on a real PostgreSQL: one holder per shard, takeover after expiry,
balance, and a replica that lost its lease writes nothing (sloguard.store.leases).

Expiry is made by moving a lease's ``expires_at`` into the past in PostgreSQL (what a pause
past the lease amounts to), so no test waits for a lease to run out."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest

from harness.pgserver import PostgresServer
from sloguard.lifecycle import EpisodeState
from sloguard.records import Attempt, Fence, Kind, OutboxRow, shard_of
from sloguard.store import PostgresStore
from sloguard.store.leases import FencedError
from tests.support.fakes import notification

_N = itertools.count()
LEASE = 15.0


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    return postgres.fresh_database(f"lease_{next(_N)}")


@pytest.fixture
def replicas(url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    a, b = PostgresStore.open(url), PostgresStore.open(url)
    yield a, b
    a.close()
    b.close()


def expire(url: str, holder: str) -> None:
    """A pause past the lease: the holder's leases end now, by PostgreSQL's clock."""
    with psycopg.connect(url) as db:
        db.execute(
            "UPDATE leases SET expires_at = clock_timestamp() - interval '1 second' "
            "WHERE holder = %s",
            (holder,),
        )
        db.execute(
            "UPDATE replicas SET seen_at = clock_timestamp() - interval '1 hour' "
            "WHERE instance = %s",
            (holder,),
        )


def fence(store: PostgresStore, instance: str, shards: int) -> Fence:
    got = store.claim(instance, shards, LEASE)
    store.fence = Fence(instance, shards, got.epochs, valid_until=float("inf"))
    return store.fence


def outbox_row(slo: str, kind: Kind = Kind.DECLARED) -> OutboxRow:
    n = notification(kind, slo=slo, episode=f"ep-{slo}")
    return OutboxRow("pd", n.episode_id, n.event_id, kind.value, n.slo, n.severity, n.to_json())


def test_one_shard_has_one_holder_and_the_other_replica_stands_by(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    first = a.claim("a", 1, LEASE)
    assert (dict(first.epochs), first.transitions) == ({0: 1}, ((0, "acquired"),))
    standby = b.claim("b", 1, LEASE)
    assert (dict(standby.epochs), standby.transitions) == ({}, ())
    renewed = a.claim("a", 1, LEASE)
    assert (dict(renewed.epochs), renewed.transitions) == ({0: 1}, ())


def test_an_expired_lease_is_taken_over_with_a_new_epoch(
    url: str, replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    a, b = replicas
    held = fence(a, "a", 1)
    expire(url, "a")
    taken = b.claim("b", 1, LEASE)
    assert (dict(taken.epochs), taken.transitions) == ({0: 2}, ((0, "takeover"),))
    woke = a.claim("a", 1, LEASE, held)
    assert (dict(woke.epochs), woke.transitions) == ({}, ((0, "lost"),))


def test_a_replica_that_lost_its_lease_commits_and_records_nothing(
    url: str, replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    a, b = replicas
    fence(a, "a", 1)
    a.commit(EpisodeState(slo="checkout", last_at=1.0), [], [outbox_row("checkout")], 1.0)
    (pending,) = a.due(10.0)
    expire(url, "a")  # a pauses (SIGSTOP) past its lease ...
    fence(b, "b", 1)  # ... and b takes the shard over
    with pytest.raises(FencedError, match="lost the lease on shard"):
        a.commit(EpisodeState(slo="checkout", last_at=2.0), [], [outbox_row("search")], 2.0)
    with pytest.raises(FencedError):
        a.record_attempts([Attempt(pending.id, 3.0, "delivered", 202)])
    with pytest.raises(FencedError):
        a.record_attempts([Attempt(pending.id, 3.0, "deferred", next_attempt_at=99.0)])
    # Nothing of a's stale writes landed: b sees the state and the row as they were.
    assert b.load_states()["checkout"].last_at == 1.0
    assert [p.id for p in b.due(10.0)] == [pending.id]
    b.record_attempts([Attempt(pending.id, 4.0, "delivered", 202)])
    assert b.counts().delivered == 1


def test_commits_of_a_shard_not_held_are_refused(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, _ = replicas
    held = fence(a, "a", 4)
    assert len(held.epochs) == 4
    a.fence = Fence("a", 4, {0: held.epochs[0]}, float("inf"))
    other = next(f"slo-{i}" for i in range(100) if shard_of(f"slo-{i}", 4) != 0)
    with pytest.raises(FencedError, match="holds no lease"):
        a.commit(EpisodeState(slo=other), [], [], 1.0)


def test_free_shards_are_shared_out_in_balance(
    url: str, replicas: tuple[PostgresStore, PostgresStore]
) -> None:
    a, b = replicas
    assert len(a.claim("a", 4, LEASE).epochs) == 4  # alone: it takes all
    assert len(b.claim("b", 4, LEASE).epochs) == 0  # joins: all are held for now
    again = a.claim("a", 4, LEASE)  # sees two live replicas: gives back beyond its share
    assert (len(again.epochs), [r for _, r in again.transitions]) == (2, ["released"] * 2)
    got = b.claim("b", 4, LEASE)
    assert sorted(got.epochs) == sorted(set(range(4)) - set(again.epochs))
    expire(url, "a")  # a dies: b takes everything within one claim
    assert sorted(b.claim("b", 4, LEASE).epochs) == [0, 1, 2, 3]


def test_due_rows_are_only_those_of_held_shards(
    replicas: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = replicas
    a.claim("a", 2, LEASE)
    b.claim("b", 2, LEASE)
    a.claim("a", 2, LEASE)  # rebalance: one shard each
    b_fence = fence(b, "b", 2)
    a_fence = fence(a, "a", 2)
    slos = [f"slo-{i}" for i in range(8)]
    for slo in slos:
        (a if a_fence.holds(slo) else b).commit(EpisodeState(slo=slo), [], [outbox_row(slo)], 1.0)
    assert {p.slo for p in a.due(10.0)} == {s for s in slos if a_fence.holds(s)}
    assert {p.slo for p in b.due(10.0)} == {s for s in slos if b_fence.holds(s)}
