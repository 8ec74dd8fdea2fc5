"""A replica cut off from PostgreSQL (a TCP gate cuts its connection and refuses new ones):
it stops sending at once, the other replica takes over after the lease, and once the link is
back the cut-off replica reconnects, learns it lost the shard and writes nothing stale.

Expiry is made in PostgreSQL (the lease's expires_at moved into the past) rather than waited
for; the replica's send deadline runs on an injected monotonic clock."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from harness.pgserver import PostgresServer
from harness.tcpgate import TcpGate
from sloguard.errors import StoreError
from sloguard.ha import Replica
from sloguard.lifecycle import EpisodeState
from sloguard.store import PostgresStore
from sloguard.store.leases import FencedError


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def gate(postgres: PostgresServer) -> Iterator[TcpGate]:
    g = TcpGate(postgres.port)
    yield g
    g.down()


def test_a_cut_off_replica_stops_sending_and_comes_back_as_a_standby(
    postgres: PostgresServer, gate: TcpGate
) -> None:
    url = postgres.fresh_database("partition")
    cut_url = url.replace(f":{postgres.port}/", f":{gate.port}/")
    clock = Ticking()
    a = Replica(PostgresStore.open(cut_url), "a", lease_seconds=15, monotonic=clock)
    b = Replica(PostgresStore.open(url), "b", lease_seconds=15, monotonic=clock)
    try:
        assert a.claim()
        assert a.held == 1
        assert not b.claim()
        assert b.held == 0
        a.store.commit(EpisodeState(slo="checkout", last_at=1.0), [], [], 1.0)
        assert a.may_send("checkout")

        gate.down()  # the partition
        with pytest.raises(StoreError):
            a.claim()
        assert not a.may_send("checkout")  # no renewal: it sends nothing more

        with psycopg.connect(url) as db:  # ... and 15 s later its lease has run out
            db.execute("UPDATE leases SET expires_at = clock_timestamp() - interval '1 s'")
        assert b.claim()
        assert b.held == 1
        b.store.commit(EpisodeState(slo="checkout", last_at=2.0), [], [], 2.0)

        gate.up()  # the link is back
        with pytest.raises(FencedError):  # what it was about to write is refused
            a.store.commit(EpisodeState(slo="checkout", last_at=3.0), [], [], 3.0)
        assert a.claim()  # changed: it lost the shard
        assert (a.held, a.may_send("checkout")) == (0, False)
        assert b.store.load_states()["checkout"].last_at == 2.0
    finally:
        a.store.close()
        b.store.close()
