"""The SQLite store: one file, WAL, one transaction per tick (see :mod:`sloguard.store`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sloguard.errors import StoreError
from sloguard.lifecycle import EpisodeState, Event
from sloguard.records import Attempt, EpisodeRecord, OutboxCounts, OutboxRow, Pending
from sloguard.store import _notifier_state as notifier_rows
from sloguard.store import _record as recorded
from sloguard.store._attempts import statements
from sloguard.store._history import EPISODE_COLUMNS, episode_record
from sloguard.store._schema import MIGRATIONS, SCHEMA_VERSION, classify

# json.dumps(..., sort_keys=True) builds an encoder per call; a tick writes 10,000 states.
_SQL = recorded.Statements.written_with(str)


def _one_shard(slo: str) -> int:
    return 0  # one replica: every row is shard 0


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
            raise StoreError(classify(exc, self.path)) from exc

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
            for statement in MIGRATIONS[target].split(";"):
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
            return recorded.states(self._db.execute(_SQL.load).fetchall())

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

        ``seen`` are states whose only change since they were committed is ``last_at`` and
        ``last_budget_remaining`` (idle keys): only those are written, not the whole state.
        All or nothing: a crash never keeps a state without its rows, for any key. Returns the
        rows queued per change, in order.
        """
        if not changes and not seen:
            return []
        with self._transaction() as db:
            queued = [recorded.record(db, _SQL, change, at, _one_shard) for change in changes]
            recorded.record_seen(db, _SQL, seen)
            return queued

    # --- outbox --------------------------------------------------------------------------

    def due(self, now: float, limit: int = 100) -> list[Pending]:
        """Pending rows whose time has come and that head their (notifier, episode) queue.

        A row waits while an earlier row of the same notifier and episode is still pending, so
        a resolve never overtakes its trigger. Oldest first.
        """
        with self._errors():
            rows = self._db.execute(
                f"SELECT {recorded.PENDING_COLUMNS} FROM outbox AS o "  # noqa: S608  # nosec B608
                "WHERE status = 'pending' AND next_attempt_at <= ? AND NOT EXISTS ("
                "  SELECT 1 FROM outbox AS p WHERE p.notifier = o.notifier"
                "  AND p.episode_id = o.episode_id AND p.status = 'pending' AND p.id < o.id) "
                "ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
        return [recorded.pending(r) for r in rows]

    def next_due_at(self) -> float | None:
        """When the earliest pending row becomes due (for the daemon's sleep), or None."""
        with self._errors():
            row = self._db.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        """What became of a batch of due rows, in one transaction (all or nothing)."""
        if not attempts:
            return
        with self._transaction() as db:
            for attempt in attempts:
                for sql, params in statements(attempt):
                    db.execute(sql, params)

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
                f"SELECT {EPISODE_COLUMNS} FROM episodes {where} "  # noqa: S608  # nosec B608
                "ORDER BY declared_at, id",
                args,
            ).fetchall()
            return [episode_record(self._fetch, *head) for head in heads]

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        with self._errors():
            head = self._db.execute(
                f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE id = ?",  # noqa: S608  # nosec B608
                (episode_id,),
            ).fetchone()
            return None if head is None else episode_record(self._fetch, *head)

    def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        return self._db.execute(sql, args).fetchall()

    def latest_payload(self, episode_id: str) -> dict[str, Any] | None:
        """The newest notification queued for the episode (it carries the SLO's facts:
        service, owner, runbook, objective), or None when nothing was ever queued."""
        with self._errors():
            row = self._db.execute(
                "SELECT payload FROM outbox WHERE episode_id = ? ORDER BY id DESC LIMIT 1",
                (episode_id,),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def notifier_state(self, notifier: str, episode_id: str) -> dict[str, Any]:
        """What ``notifier`` recorded for the episode ({} when nothing yet)."""
        with self._errors():
            return notifier_rows.decode(
                self._db.execute(notifier_rows.SELECT, (notifier, episode_id)).fetchone()
            )

    def save_notifier_state(
        self, notifier: str, episode_id: str, state: Mapping[str, Any], at: float
    ) -> None:
        """Replace what ``notifier`` recorded for the episode, durably (its own transaction)."""
        with self._transaction() as db:
            db.execute(
                notifier_rows.UPSERT, (notifier, episode_id, notifier_rows.encode(state), at)
            )
