"""The state database: episode state, episode history and the durable outbox, in SQLite.

One transaction (:meth:`Store.commit`) writes an SLO's new episode state, the transitions that
led there and one outbox row per routed notifier per paged event. A crash therefore leaves
either all of it or none of it: a page is never lost between "decided" and "queued", and a
replayed tick finds its rows already there (``UNIQUE(notifier, event_id)``).

Durability: WAL journal, ``synchronous=FULL`` (a committed tick survives power loss), a
``busy_timeout`` for readers. The schema carries a version (``PRAGMA user_version``) and is
migrated forward step by step on open; a database written by a newer sloguard is refused.

History is kept for postmortems: ``episodes`` (one row per burn), ``transitions`` (every
lifecycle event with its time), ``outbox`` (every notification with its final outcome) and
``attempts`` (every delivery attempt with status code, error and duration).

Every sqlite3 error is translated into :class:`sloguard.errors.StoreError` saying what is wrong
(corrupt, read-only, disk full, locked) and what to do. The store never reads a clock: times
are arguments.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sloguard.errors import StoreError
from sloguard.lifecycle import EpisodeState, Event
from sloguard.records import Delivery, EpisodeRecord, OutboxCounts, OutboxRow, Pending, Transition

SCHEMA_VERSION = 3

# Migration N brings a database from version N-1 to N. Append, never edit a released one.
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE slo_state (
        slo        TEXT PRIMARY KEY,
        state      TEXT NOT NULL,            -- EpisodeState.to_json()
        updated_at REAL NOT NULL
    );
    CREATE TABLE episodes (
        id          TEXT PRIMARY KEY,
        slo         TEXT NOT NULL,
        declared_at REAL NOT NULL,
        resolved_at REAL,
        peak        TEXT NOT NULL
    );
    CREATE INDEX episodes_slo ON episodes (slo, declared_at);
    CREATE TABLE transitions (
        id         INTEGER PRIMARY KEY,
        episode_id TEXT NOT NULL,
        slo        TEXT NOT NULL,
        at         REAL NOT NULL,
        kind       TEXT NOT NULL,
        severity   TEXT NOT NULL,
        previous   TEXT,
        paged      INTEGER NOT NULL,
        reason     TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX transitions_episode ON transitions (episode_id, id);
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,   -- FIFO order within (notifier, episode_id)
        notifier        TEXT NOT NULL,
        episode_id      TEXT NOT NULL,
        event_id        TEXT NOT NULL,
        kind            TEXT NOT NULL,
        slo             TEXT NOT NULL,
        severity        TEXT NOT NULL,
        payload         TEXT NOT NULL,         -- Notification.to_json()
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        last_error      TEXT NOT NULL DEFAULT '',
        last_status     INTEGER,
        finished_at     REAL,
        UNIQUE (notifier, event_id)
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_key ON outbox (notifier, episode_id, status, id);
    CREATE TABLE attempts (
        id               INTEGER PRIMARY KEY,
        outbox_id        INTEGER NOT NULL REFERENCES outbox (id),
        at               REAL NOT NULL,
        outcome          TEXT NOT NULL,        -- delivered | retry | dead | deferred
        status           INTEGER,
        error            TEXT NOT NULL DEFAULT '',
        duration_seconds REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX attempts_outbox ON attempts (outbox_id, id);
    """,
    # The impact of each episode, for postmortems (see EpisodeState and sloguard.postmortem).
    2: """
    ALTER TABLE episodes ADD COLUMN burn_started_at REAL;
    ALTER TABLE episodes ADD COLUMN peak_burn_rate REAL;
    ALTER TABLE episodes ADD COLUMN burn_seconds REAL;
    ALTER TABLE episodes ADD COLUMN budget_remaining REAL;
    """,
    # The last evaluation applied to a key whose state changed in nothing else (an idle key,
    # every tick): written alone instead of the whole state (see Store.commit_many's seen).
    3: """
    ALTER TABLE slo_state ADD COLUMN last_at REAL;
    """,
}


# json.dumps(..., sort_keys=True) builds an encoder per call; a tick writes 10,000 states.
_SORTED_JSON = json.JSONEncoder(sort_keys=True)

_EPISODE_COLUMNS = (
    "id, slo, declared_at, resolved_at, peak, burn_started_at, peak_burn_rate, burn_seconds, "
    "budget_remaining"
)


def _classify(exc: sqlite3.Error, path: str) -> str:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return (
            f"state database {path} is read-only: sloguard needs write access to the file and "
            "its directory (for the -wal and -shm files)"
        )
    if "disk is full" in text or "disk i/o" in text:
        return f"state database {path}: the disk is full or failing ({exc}); free space and restart"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"state database {path} is corrupt ({exc}); move it aside to start with an empty "
            "one (open episodes and pending notifications in it are then forgotten)"
        )
    if "locked" in text or "busy" in text:
        return f"state database {path} is locked: is another sloguard using the same state_path?"
    if "unable to open" in text:
        return f"cannot open state database {path}: check that the directory exists and is writable"
    return f"state database {path}: {exc}"


class Store:
    """The SQLite state database. Not thread-safe: one owner (the daemon's event loop)."""

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Store:
        """Open (creating and migrating as needed) the database at ``path``.

        ``read_only`` opens an existing database without writing (status pages, postmortems).
        """
        name = str(path)
        try:
            if read_only:
                if not Path(name).exists():
                    raise StoreError(f"state database {name} does not exist")
                db = sqlite3.connect(f"file:{name}?mode=ro", uri=True, isolation_level=None)
            else:
                Path(name).parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(name, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open state database {name}: {exc}") from exc
        store = cls(db, name)
        try:
            store._setup(read_only)
        except StoreError:
            db.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(_classify(exc, self.path)) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite already rolled back on e.g. SQLITE_FULL
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _setup(self, read_only: bool) -> None:
        with self._errors():
            self._db.execute("PRAGMA busy_timeout = 5000")
            check = self._db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise StoreError(
                    f"state database {self.path} is corrupt (integrity check: {check}); "
                    "move it aside to start with an empty one"
                )
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"state database {self.path} has schema version {version}, newer than this "
                    f"sloguard understands ({SCHEMA_VERSION}); run a newer sloguard"
                )
            if read_only:
                if version < SCHEMA_VERSION:
                    raise StoreError(
                        f"state database {self.path} has schema version {version}; open it "
                        "read-write once to migrate it"
                    )
                return
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            # SQLite opens a file it cannot write read-only without a word, and the first write
            # fails. Probe now: a daemon running on it would send what it cannot record as sent,
            # and send it again after every failure. The rolled-back write leaves the file as is.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"PRAGMA user_version = {version}")
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            self._migrate(target)

    def _migrate(self, target: int) -> None:
        with self._transaction() as db:
            for statement in _MIGRATIONS[target].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {int(target)}")

    @property
    def schema_version(self) -> int:
        with self._errors():
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # --- episode state -------------------------------------------------------------------

    def load_states(self) -> dict[str, EpisodeState]:
        """The last committed state of every SLO key."""
        with self._errors():
            rows = self._db.execute("SELECT state, last_at FROM slo_state ORDER BY slo").fetchall()
        out: dict[str, EpisodeState] = {}
        for text, seen in rows:
            state = EpisodeState.from_json(json.loads(text))
            if seen is not None and (state.last_at is None or seen > state.last_at):
                state = replace(state, last_at=seen)
            out[state.slo] = state
        return out

    def commit(
        self, state: EpisodeState, events: Sequence[Event], rows: Sequence[OutboxRow], at: float
    ) -> int:
        """Write one SLO's new state, its transitions and its outbox rows in one transaction.

        Returns the number of outbox rows queued (rows already queued are not queued twice).
        """
        return self.commit_many([(state, events, rows)], at)[0]

    def commit_many(
        self,
        changes: Sequence[tuple[EpisodeState, Sequence[Event], Sequence[OutboxRow]]],
        at: float,
        *,
        seen: Sequence[EpisodeState] = (),
    ) -> list[int]:
        """Write the new states, transitions and outbox rows of many SLO keys in one
        transaction (one tick: one disk sync, not one per key).

        ``seen`` are states whose only change since they were committed is ``last_at`` (idle
        keys): only that is written, not the whole state again. All or nothing: a crash never
        keeps a state without its rows, for any key. Returns the rows queued per change, in
        order.
        """
        if not changes and not seen:
            return []
        with self._transaction() as db:
            queued = [self._write(db, state, events, rows, at) for state, events, rows in changes]
            db.executemany(
                "UPDATE slo_state SET last_at = ? WHERE slo = ?", [(s.last_at, s.slo) for s in seen]
            )
            return queued

    def _write(
        self,
        db: sqlite3.Connection,
        state: EpisodeState,
        events: Sequence[Event],
        rows: Sequence[OutboxRow],
        at: float,
    ) -> int:
        queued = 0
        db.execute(
            "INSERT INTO slo_state (slo, state, updated_at, last_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (slo) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at, last_at = excluded.last_at",
            (state.slo, _SORTED_JSON.encode(state.to_json()), at, state.last_at),
        )
        if state.episode_id and state.declared_at is not None:
            db.execute(
                "INSERT INTO episodes (id, slo, declared_at, resolved_at, peak, "
                "burn_started_at, peak_burn_rate, burn_seconds, budget_remaining) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "resolved_at = excluded.resolved_at, peak = excluded.peak, "
                "burn_started_at = excluded.burn_started_at, "
                "peak_burn_rate = excluded.peak_burn_rate, "
                "burn_seconds = excluded.burn_seconds, "
                "budget_remaining = excluded.budget_remaining",
                (
                    state.episode_id,
                    state.slo,
                    state.declared_at,
                    state.resolved_at if not state.open else None,
                    state.peak.name,
                    state.burn_started_at,
                    state.peak_burn_rate,
                    state.burn_seconds,
                    state.budget_remaining,
                ),
            )
        db.executemany(
            "INSERT INTO transitions "
            "(episode_id, slo, at, kind, severity, previous, paged, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.episode_id,
                    e.slo,
                    e.at,
                    e.kind.value,
                    e.severity.name,
                    e.previous.name if e.previous is not None else None,
                    int(e.notify),
                    e.reason,
                )
                for e in events
            ],
        )
        for row in rows:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (notifier, episode_id, event_id, kind, slo, "
                "severity, payload, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.notifier,
                    row.episode_id,
                    row.event_id,
                    row.kind,
                    row.slo,
                    row.severity,
                    json.dumps(row.payload, sort_keys=True),
                    at,
                    at,
                ),
            )
            queued += cursor.rowcount
        return queued

    # --- outbox --------------------------------------------------------------------------

    def due(self, now: float, limit: int = 100) -> list[Pending]:
        """Pending rows whose time has come and that head their (notifier, episode) queue.

        A row waits while an earlier row of the same notifier and episode is still pending, so
        a resolve never overtakes its trigger. Oldest first.
        """
        with self._errors():
            rows = self._db.execute(
                "SELECT id, notifier, episode_id, event_id, kind, slo, severity, payload, "
                "attempts, created_at FROM outbox AS o "
                "WHERE status = 'pending' AND next_attempt_at <= ? AND NOT EXISTS ("
                "  SELECT 1 FROM outbox AS p WHERE p.notifier = o.notifier"
                "  AND p.episode_id = o.episode_id AND p.status = 'pending' AND p.id < o.id) "
                "ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
        return [
            Pending(
                id=r[0],
                notifier=r[1],
                episode_id=r[2],
                event_id=r[3],
                kind=r[4],
                slo=r[5],
                severity=r[6],
                payload=json.loads(r[7]),
                attempts=r[8],
                created_at=r[9],
            )
            for r in rows
        ]

    def next_due_at(self) -> float | None:
        """When the earliest pending row becomes due (for the daemon's sleep), or None."""
        with self._errors():
            row = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def _attempt(
        self,
        row_id: int,
        at: float,
        outcome: str,
        status: int | None,
        error: str,
        duration: float,
        update_sql: str,
        params: tuple[Any, ...],
    ) -> None:
        with self._transaction() as db:
            db.execute(update_sql, (*params, row_id))
            db.execute(
                "INSERT INTO attempts (outbox_id, at, outcome, status, error, duration_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row_id, at, outcome, status, error, duration),
            )

    def mark_delivered(
        self, row_id: int, at: float, *, status: int | None = None, duration: float = 0.0
    ) -> None:
        self._attempt(
            row_id,
            at,
            "delivered",
            status,
            "",
            duration,
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, finished_at = ?, "
            "last_status = ?, last_error = '' WHERE id = ?",
            (at, status),
        )

    def mark_retry(
        self,
        row_id: int,
        at: float,
        next_attempt_at: float,
        error: str,
        *,
        status: int | None = None,
        duration: float = 0.0,
    ) -> None:
        self._attempt(
            row_id,
            at,
            "retry",
            status,
            error,
            duration,
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, "
            "last_status = ? WHERE id = ?",
            (next_attempt_at, error, status),
        )

    def mark_dead(
        self,
        row_id: int,
        at: float,
        error: str,
        *,
        status: int | None = None,
        duration: float = 0.0,
        attempted: bool = True,
    ) -> None:
        self._attempt(
            row_id,
            at,
            "dead",
            status,
            error,
            duration,
            "UPDATE outbox SET status = 'dead', attempts = attempts + ?, finished_at = ?, "
            "last_error = ?, last_status = ? WHERE id = ?",
            (int(attempted), at, error, status),
        )

    def defer(self, row_id: int, next_attempt_at: float) -> None:
        """Postpone a row without counting an attempt (rate limit)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                (next_attempt_at, row_id),
            )

    def counts(self) -> OutboxCounts:
        with self._errors():
            rows = dict(
                self._db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
            )
        return OutboxCounts(
            pending=rows.get("pending", 0),
            delivered=rows.get("delivered", 0),
            dead=rows.get("dead", 0),
        )

    # --- history -------------------------------------------------------------------------

    def episodes(self, slo: str | None = None) -> list[EpisodeRecord]:
        """Every episode (of ``slo``, if given), oldest first, with transitions and deliveries."""
        with self._errors():
            where, args = ("WHERE slo = ?", (slo,)) if slo else ("", ())
            heads = self._db.execute(
                f"SELECT {_EPISODE_COLUMNS} FROM episodes {where} "  # noqa: S608  # nosec B608
                "ORDER BY declared_at, id",
                args,
            ).fetchall()
            return [self._episode(*head) for head in heads]

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        with self._errors():
            head = self._db.execute(
                f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE id = ?",  # noqa: S608  # nosec B608
                (episode_id,),
            ).fetchone()
            return None if head is None else self._episode(*head)

    def latest_payload(self, episode_id: str) -> dict[str, Any] | None:
        """The newest notification queued for the episode (it carries the SLO's facts:
        service, owner, runbook, objective), or None when nothing was ever queued."""
        with self._errors():
            row = self._db.execute(
                "SELECT payload FROM outbox WHERE episode_id = ? ORDER BY id DESC LIMIT 1",
                (episode_id,),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _episode(
        self,
        eid: str,
        slo: str,
        declared_at: float,
        resolved_at: float | None,
        peak: str,
        burn_started_at: float | None,
        peak_burn_rate: float | None,
        burn_seconds: float | None,
        budget_remaining: float | None,
    ) -> EpisodeRecord:
        transitions = self._db.execute(
            "SELECT at, kind, severity, previous, paged, reason FROM transitions "
            "WHERE episode_id = ? ORDER BY id",
            (eid,),
        ).fetchall()
        deliveries = self._db.execute(
            "SELECT notifier, kind, status, attempts, created_at, finished_at, last_error, "
            "last_status FROM outbox WHERE episode_id = ? ORDER BY id",
            (eid,),
        ).fetchall()
        return EpisodeRecord(
            id=eid,
            slo=slo,
            declared_at=declared_at,
            resolved_at=resolved_at,
            peak=peak,
            transitions=tuple(
                Transition(
                    at=r[0], kind=r[1], severity=r[2], previous=r[3], paged=bool(r[4]), reason=r[5]
                )
                for r in transitions
            ),
            deliveries=tuple(Delivery(*r) for r in deliveries),
            burn_started_at=burn_started_at,
            peak_burn_rate=peak_burn_rate,
            burn_seconds=burn_seconds,
            budget_remaining=budget_remaining,
        )
