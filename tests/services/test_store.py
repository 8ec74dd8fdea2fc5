"""The state database: one transaction per SLO, FIFO per key, clear errors, migrations."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from sloguard.burn import Evaluation
from sloguard.errors import StoreError
from sloguard.lifecycle import EpisodeState, Event, LifecyclePolicy, episode_id, step
from sloguard.model import Severity
from sloguard.records import Attempt, Kind, OutboxRow
from sloguard.store import AnyStore, PostgresStore, Store
from sloguard.store import sqlite as store_module
from sloguard.store._schema import MIGRATIONS, SCHEMA_VERSION
from tests.support.fakes import notification

EP1 = episode_id("checkout", 1000.0)  # the episode declared_state() opens


def row(notifier: str, kind: Kind, episode: str = EP1, at: float = 1000.0) -> OutboxRow:
    n = notification(kind, episode=episode, at=at)
    return OutboxRow(notifier, n.episode_id, n.event_id, kind.value, n.slo, n.severity, n.to_json())


def declared_state() -> tuple[EpisodeState, list[Event]]:
    evaluation = Evaluation("checkout", 1000.0, Severity.SEV1, MappingProxyType({}), None, None)
    return step(None, evaluation, 1000.0, LifecyclePolicy())


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state" / "sloguard.db")
    yield s
    s.close()


_DATABASES = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyStore]:
    """The same tests against both engines: SQLite in a temporary file, PostgreSQL in a fresh
    database of the session's real server."""
    if request.param == "sqlite":
        s: AnyStore = Store.open(tmp_path / "state" / "sloguard.db")
    else:
        server = request.getfixturevalue("postgres")
        s = PostgresStore.open(server.fresh_database(f"store_{next(_DATABASES)}"))
    yield s
    s.close()


def test_commit_writes_state_history_and_outbox_together(store: AnyStore) -> None:
    state, events = declared_state()
    queued = store.commit(state, events, [row("pd", Kind.DECLARED)], at=1000.0)
    assert queued == 1
    assert store.load_states() == {"checkout": state}
    assert store.counts().pending == 1
    (episode,) = store.episodes()
    assert [t.kind for t in episode.transitions] == ["declared"]
    assert [d.notifier for d in episode.deliveries] == ["pd"]
    # Replaying the same tick (e.g. `run --once --at T` twice) queues nothing twice.
    assert store.commit(state, [], [row("pd", Kind.DECLARED)], at=1000.0) == 0
    assert store.counts().pending == 1


def test_commit_is_all_or_nothing(store: AnyStore) -> None:
    state, events = declared_state()
    bad = OutboxRow("pd", "e", "x", "declared", "checkout", "SEV1", {"x": object()})
    with pytest.raises(TypeError):
        store.commit(state, events, [row("pd", Kind.DECLARED), bad], at=1000.0)
    assert store.load_states() == {}
    assert store.counts().pending == 0
    assert store.episodes() == []


@pytest.mark.parametrize(
    ("first_outcome", "second_due"),
    [
        pytest.param("pending", False, id="resolve-waits-for-its-trigger"),
        pytest.param("retry", False, id="resolve-waits-while-trigger-backs-off"),
        pytest.param("delivered", True, id="resolve-due-after-trigger-delivered"),
        pytest.param("dead", True, id="resolve-due-after-trigger-dead-lettered"),
    ],
)
def test_due_is_fifo_per_notifier_and_episode(
    store: AnyStore, first_outcome: str, second_due: bool
) -> None:
    state, _ = declared_state()
    rows = [
        row("pd", Kind.DECLARED),
        row("pd", Kind.RESOLVED, at=1100.0),
        row("og", Kind.DECLARED),  # another notifier: its own queue
        row("pd", Kind.DECLARED, episode="sloguard-ep2"),  # another episode: its own queue
    ]
    store.commit(state, [], rows, at=1000.0)
    first = store.due(2000.0)[0]
    if first_outcome == "retry":
        store.record_attempts([Attempt(first.id, 2000.0, "retry", None, "503", 0.0, 9999.0)])
    elif first_outcome == "delivered":
        store.record_attempts([Attempt(first.id, 2000.0, "delivered", 202)])
    elif first_outcome == "dead":
        store.record_attempts([Attempt(first.id, 2000.0, "dead", 400, "400 invalid")])
    due = [(p.notifier, p.episode_id, p.kind) for p in store.due(2000.0)]
    expected = [("og", EP1, "declared"), ("pd", "sloguard-ep2", "declared")]
    if first_outcome == "pending":
        expected.insert(0, ("pd", EP1, "declared"))
    if second_due:
        expected.insert(0, ("pd", EP1, "resolved"))
    assert sorted(due) == sorted(expected)


def test_history_keeps_attempts_and_outcomes(store: AnyStore) -> None:
    state, events = declared_state()
    store.commit(state, events, [row("pd", Kind.DECLARED)], at=1000.0)
    (pending,) = store.due(1000.0)
    store.record_attempts([Attempt(pending.id, 1001.0, "retry", 503, "HTTP 503", 0.2, 1010.0)])
    assert store.due(1005.0) == []
    assert store.next_due_at() == 1010.0
    store.record_attempts([Attempt(store.due(1010.0)[0].id, 1010.0, "delivered", 202)])
    (episode,) = store.episodes("checkout")
    (delivery,) = episode.deliveries
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("delivered", 2, 202)
    assert store.counts().delivered == 1


@pytest.mark.parametrize(
    ("outcome", "next_attempt_at"),
    [
        pytest.param("retry", 1010.0, id="retrying-says-when-next"),
        pytest.param("delivered", None, id="delivered-has-no-next"),
        pytest.param("dead", None, id="dead-has-no-next"),
    ],
)
def test_history_says_when_a_retrying_delivery_is_tried_next(
    store: AnyStore, outcome: str, next_attempt_at: float | None
) -> None:
    state, events = declared_state()
    store.commit(state, events, [row("pd", Kind.DECLARED)], at=1000.0)
    (pending,) = store.due(1000.0)
    attempt = {
        "retry": Attempt(pending.id, 1001.0, "retry", 503, "HTTP 503", next_attempt_at=1010.0),
        "delivered": Attempt(pending.id, 1001.0, "delivered", 202),
        "dead": Attempt(pending.id, 1001.0, "dead", 400, "HTTP 400"),
    }[outcome]
    store.record_attempts([attempt])
    (delivery,) = store.episodes("checkout")[0].deliveries
    assert delivery.next_attempt_at == next_attempt_at


def test_a_batch_of_attempts_is_recorded_together(store: AnyStore) -> None:
    """One delivery pass's outcomes, every kind, in one call: each row as if alone; a deferral
    is no attempt."""
    state, _ = declared_state()
    episodes = [f"sloguard-ep{i}" for i in range(4)]
    store.commit(state, [], [row("pd", Kind.DECLARED, episode=e) for e in episodes], at=1000.0)
    ids = {p.episode_id: p.id for p in store.due(1000.0)}
    store.record_attempts(
        [
            Attempt(ids[episodes[0]], 1001.0, "delivered", 202, "", 0.1),
            Attempt(ids[episodes[1]], 1001.0, "retry", 503, "HTTP 503", 0.2, 1010.0),
            Attempt(ids[episodes[2]], 1001.0, "dead", 400, "HTTP 400", 0.3),
            Attempt(ids[episodes[3]], 1001.0, "deferred", next_attempt_at=1005.0),
        ]
    )
    counts = store.counts()
    assert (counts.pending, counts.delivered, counts.dead) == (2, 1, 1)
    assert [p.episode_id for p in store.due(1005.0)] == [episodes[3]]
    assert [p.attempts for p in store.due(1010.0)] == [1, 0]
    store.record_attempts([])  # an empty pass writes nothing


def test_a_batch_of_attempts_is_all_or_nothing(store: AnyStore) -> None:
    state, _ = declared_state()
    store.commit(state, [], [row("pd", Kind.DECLARED)], at=1000.0)
    (pending,) = store.due(1000.0)
    unknown_row = Attempt(999_999, 1001.0, "delivered", 202)  # its history line has no row
    with pytest.raises(StoreError):
        store.record_attempts([Attempt(pending.id, 1001.0, "delivered", 202), unknown_row])
    assert store.counts().pending == 1
    assert [p.id for p in store.due(1001.0)] == [pending.id]


def test_corrupt_file_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"is corrupt .*move it aside"):
        Store.open(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer"):
        Store.open(path)


def test_read_only_database_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    ro = Store.open(path, read_only=True)
    state, events = declared_state()
    with pytest.raises(StoreError, match="is read-only"):
        ro.commit(state, events, [], at=1.0)
    ro.close()


def test_full_disk_is_a_clear_store_error(sqlite_store: Store) -> None:
    store = sqlite_store
    store._db.execute("PRAGMA max_page_count = 20")  # SQLite's own way to simulate a full disk
    state, _ = declared_state()
    big = {"summary": "x" * 200_000}
    with pytest.raises(StoreError, match="disk is full"):
        store.commit(state, [], [OutboxRow("pd", "e", "i", "declared", "s", "SEV1", big)], 1.0)


def test_schema_is_versioned_and_migrated_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    s = Store.open(path)
    current = SCHEMA_VERSION
    assert s.schema_version == current == max(MIGRATIONS)
    state, events = declared_state()
    s.commit(state, events, [row("pd", Kind.DECLARED)], at=1000.0)
    s.close()
    migrations = dict(MIGRATIONS)
    migrations[current + 1] = "ALTER TABLE outbox ADD COLUMN note TEXT NOT NULL DEFAULT ''"
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", current + 1)
    s = Store.open(path)
    assert s.schema_version == current + 1
    assert s.counts().pending == 1  # data survived the migration
    assert s.load_states() == {"checkout": state}
    s.close()


def test_a_version_1_database_gains_episode_impact_columns(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute(
        "INSERT INTO episodes (id, slo, declared_at, resolved_at, peak) "
        "VALUES ('e1', 'checkout', 10.0, 20.0, 'SEV2')"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    s = Store.open(path)
    (old,) = s.episodes()
    assert (old.id, old.peak, old.resolved_at, old.peak_burn_rate) == ("e1", "SEV2", 20.0, None)
    state, events = declared_state()
    state = replace(state, burn_started_at=990.0, peak_burn_rate=480.0, burn_seconds=9600.0)
    s.commit(state, events, [], at=1000.0)
    new = s.episode(state.episode_id)
    assert new is not None
    assert (new.burn_started_at, new.peak_burn_rate, new.burn_seconds) == (990.0, 480.0, 9600.0)
    s.close()


def test_wal_and_full_sync(sqlite_store: Store) -> None:
    assert sqlite_store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite_store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_outbox_payload_is_the_notification_json(store: AnyStore) -> None:
    state, events = declared_state()
    store.commit(state, events, [row("pd", Kind.DECLARED)], at=1000.0)
    (pending,) = store.due(1000.0)
    (delivery,) = store.episodes()[0].deliveries
    assert delivery.notifier == "pd"
    assert store.latest_payload(EP1) == pending.payload
    assert pending.payload == notification(Kind.DECLARED, episode=EP1).to_json()


def _state_text(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT slo, state FROM slo_state").fetchall())
    finally:
        db.close()


def test_a_seen_state_moves_only_its_last_evaluation(tmp_path: Path) -> None:
    """An idle key's state changes only in last_at: ``seen`` records that alone, in the same
    transaction, and the state read back (after a reopen too) has the new last_at."""
    path = tmp_path / "state.db"
    s = Store.open(path)
    idle = EpisodeState(slo="search", last_at=1000.0, budget_remaining=0.9)
    state, events = declared_state()
    s.commit_many([(idle, [], []), (state, events, [])], at=1000.0)
    written = _state_text(path)
    later = replace(idle, last_at=1030.0)
    assert s.commit_many([], 1030.0, seen=[later]) == []
    assert _state_text(path) == written, "the state itself is not rewritten"
    assert s.load_states()["search"] == later
    s.close()
    s = Store.open(path)
    assert s.load_states() == {"search": later, "checkout": state}
    # A full write afterwards carries its own last_at; an older seen value never wins.
    resolved = replace(later, last_at=1060.0, severity=Severity.NO_DATA)
    s.commit_many([(resolved, [], [])], at=1060.0)
    assert s.load_states()["search"] == resolved
    s.close()


@pytest.mark.parametrize(
    "budget", [pytest.param(0.42, id="a-budget"), pytest.param(None, id="no-budget-known")]
)
def test_a_seen_state_carries_the_budget_it_was_evaluated_with(
    store: AnyStore, budget: float | None
) -> None:
    """Another replica judges an idle key (its gate) by the budget its holder evaluated last:
    the idle write records it beside last_at, on both engines, and a later full write wins."""
    idle = EpisodeState(slo="search", last_at=1000.0, last_budget_remaining=0.9)
    store.commit_many([(idle, [], [])], at=1000.0)
    later = replace(idle, last_at=1030.0, last_budget_remaining=budget)
    store.commit_many([], 1030.0, seen=[later])
    assert store.load_states() == {"search": later}
    full = replace(later, last_at=1060.0, last_budget_remaining=0.5)
    store.commit_many([(full, [], [])], at=1060.0)
    assert store.load_states() == {"search": full}


def test_many_seen_states_each_keep_their_own_values(store: AnyStore) -> None:
    """Idle keys are written together (PostgreSQL: one statement for all): each key gets its
    own last_at and budget, None included, and keys not seen keep theirs."""
    keys = ["a", "b", "c", "d"]
    for key in keys:
        store.commit_many([(EpisodeState(slo=key, last_at=1000.0), [], [])], at=1000.0)
    seen = [
        EpisodeState(slo="a", last_at=1030.0, last_budget_remaining=0.25),
        EpisodeState(slo="b", last_at=1030.5, last_budget_remaining=None),
        EpisodeState(slo="c", last_at=1031.0, last_budget_remaining=-0.5),
    ]
    assert store.commit_many([], 1030.0, seen=seen) == []
    assert store.load_states() == {
        **{s.slo: s for s in seen},
        "d": EpisodeState(slo="d", last_at=1000.0),
    }


def test_a_version_2_database_gains_the_last_evaluation_column(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.executescript(MIGRATIONS[2])
    old = EpisodeState(slo="search", last_at=1000.0)
    db.execute(
        "INSERT INTO slo_state (slo, state, updated_at) VALUES (?, ?, ?)",
        ("search", json.dumps(old.to_json()), 1000.0),
    )
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    s = Store.open(path)
    assert s.schema_version == SCHEMA_VERSION >= 3
    assert s.load_states() == {"search": old}
    s.commit_many([], 1030.0, seen=[replace(old, last_at=1030.0)])
    assert s.load_states() == {"search": replace(old, last_at=1030.0)}
    s.close()
