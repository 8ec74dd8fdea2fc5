"""``/api/v1/slos`` on every replica shows the shared state: a standby (and a replica holding
other shards) re-reads the states of the shards it does not hold from PostgreSQL on each
regular tick, so it shows what the holder committed, not what it loaded at startup."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from harness.pgserver import PostgresServer
from sloguard.clock import ManualClock
from sloguard.ha import Replica
from sloguard.model import Severity
from sloguard.paging import PagingPolicy
from sloguard.store import PostgresStore
from sloguard.tick import Tick
from tests.support.ticks import CHECKOUT, ROUTES, SEARCH, T0, Script

_N = itertools.count()


class TwoReplicas:
    """Two daemons' ticks on one PostgreSQL, each with its own connection and lease."""

    def __init__(self, url: str, shards: int) -> None:
        self.script = Script()
        self.replicas: dict[str, Replica] = {}
        self.ticks = {name: self._tick(url, name, shards) for name in ("a", "b")}

    def _tick(self, url: str, name: str, shards: int) -> Tick:
        store = PostgresStore.open(url)
        self.replicas[name] = Replica(store, name, shards=shards, lease_seconds=15)
        return Tick(
            slos=[CHECKOUT, SEARCH],
            source=object(),  # type: ignore[arg-type]  # the script never queries it
            evaluate=self.script,
            paging=PagingPolicy(routes=ROUTES),
            store=store,
            clock=ManualClock(T0),
            shards=self.replicas[name],
        )

    def run(self, name: str, at: float) -> dict[str, Any]:
        asyncio.run(self.ticks[name].run(at))
        return self.ticks[name].shown.status()

    def close(self) -> None:
        for tick in self.ticks.values():
            tick.store.close()


@pytest.fixture
def replicas(postgres: PostgresServer) -> Iterator[TwoReplicas]:
    pair = TwoReplicas(postgres.fresh_database(f"ha_status_{next(_N)}"), shards=1)
    yield pair
    pair.close()


def severities(status: dict[str, Any]) -> dict[str, str]:
    return {s["slo"]: s["severity"] for s in status["slos"]}


def test_a_standby_shows_what_the_active_replica_committed_after_it_started(
    replicas: TwoReplicas,
) -> None:
    replicas.run("a", T0)  # a takes the one shard
    before = replicas.run("b", T0)  # b stands by, its states read now
    assert replicas.replicas["b"].held == 0
    assert severities(before) == {CHECKOUT.name: "OK", SEARCH.name: "OK"}

    replicas.script.severity[CHECKOUT.name] = Severity.SEV1
    active = replicas.run("a", T0 + 60)
    standby = replicas.run("b", T0 + 60)

    assert severities(standby) == severities(active) == {CHECKOUT.name: "SEV1", SEARCH.name: "OK"}
    assert [e["episode_id"] for e in standby["episodes"]] == [
        e["episode_id"] for e in active["episodes"]
    ]
    (shown,) = (s for s in standby["slos"] if s["slo"] == CHECKOUT.name)
    assert (shown["at"], shown["service"], shown["burn_rates"]) == (T0 + 60, "checkout", {})

    replicas.script.severity[CHECKOUT.name] = Severity.OK
    for step in range(2, 40):  # until the episode resolves on the active replica
        replicas.run("a", T0 + 60 * step)
        if not replicas.ticks["a"].shown.status()["episodes"]:
            break
    standby = replicas.run("b", T0 + 60 * step)
    assert standby["episodes"] == []
    assert severities(standby) == {CHECKOUT.name: "OK", SEARCH.name: "OK"}


def test_with_two_shards_each_replica_shows_every_slo(postgres: PostgresServer) -> None:
    pair = TwoReplicas(postgres.fresh_database(f"ha_status_{next(_N)}"), shards=2)
    try:
        pair.script.severity[SEARCH.name] = Severity.SEV2
        for at in (T0, T0 + 60, T0 + 120):  # the second replica takes its share of the shards
            pair.run("a", at)
            pair.run("b", at)
        assert [pair.replicas[n].held for n in ("a", "b")] == [1, 1]
        a_sees, b_sees = pair.run("a", T0 + 180), pair.run("b", T0 + 180)
        expected = {CHECKOUT.name: "OK", SEARCH.name: "SEV2"}
        assert severities(a_sees) == severities(b_sees) == expected
    finally:
        pair.close()


def test_the_replica_holding_every_shard_does_not_re_read_the_states(
    replicas: TwoReplicas,
) -> None:
    reads = {"a": 0, "b": 0}
    for name, tick in replicas.ticks.items():
        store = tick.store
        load = store.load_states

        def counted(name: str = name, load: Any = load) -> Any:
            reads[name] += 1
            return load()

        store.load_states = counted  # type: ignore[method-assign]
    for step in range(3):
        replicas.run("a", T0 + 60 * step)
        replicas.run("b", T0 + 60 * step)
    assert reads == {"a": 1, "b": 3}  # a: once at start; the standby: every tick


@pytest.mark.parametrize(
    ("checkout", "query", "status", "allowed"),
    [
        pytest.param(Severity.OK, {}, 200, True, id="all-healthy-allows"),
        pytest.param(Severity.SEV1, {}, 200, False, id="fast-burn-blocks"),
        pytest.param(Severity.SEV2, {"service": ["checkout"]}, 200, False, id="service-blocked"),
        pytest.param(Severity.SEV2, {"service": ["search"]}, 200, True, id="other-service-allowed"),
        pytest.param(Severity.NO_DATA, {"slo": [CHECKOUT.name]}, 503, False, id="unknown-is-503"),
    ],
)
def test_the_gate_on_a_standby_answers_as_the_holder_does_at_the_same_instant(
    replicas: TwoReplicas,
    checkout: Severity,
    query: dict[str, list[str]],
    status: int,
    allowed: bool,
) -> None:
    replicas.run("a", T0)  # a holds the one shard, b stands by
    replicas.run("b", T0)
    replicas.script.severity[CHECKOUT.name] = checkout
    replicas.run("a", T0 + 60)
    replicas.run("b", T0 + 60)
    assert replicas.replicas["b"].held == 0

    holder = replicas.ticks["a"].shown.gate(query)
    standby = replicas.ticks["b"].shown.gate(query)

    assert standby == holder, (standby, holder)
    assert (holder[0], holder[1]["allowed"]) == (status, allowed), holder
    assert holder[1]["checked"] >= 1
