"""The PostgreSQL store: the same state, history and outbox as SQLite, shared by replicas.

One psycopg 3 connection, used synchronously like the SQLite store: the services call the
:class:`~sloguard.ports.Store` Protocol synchronously, and a tick's commit is one transaction
of a few milliseconds on a nearby server. A statement timeout and a connect timeout bound how
long the event loop can be held when PostgreSQL is slow or gone; then the call raises
:class:`~sloguard.errors.StoreError` (the tick fails and is retried, nothing is sent unrecorded)
and the next call connects again.

Migrations: the schema version lives in ``sloguard_schema``; a replica migrates under a
transaction-scoped advisory lock and reads the version again once it holds it, so two replicas
starting together migrate once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from pydantic import SecretStr

from sloguard.errors import StoreError
from sloguard.lifecycle import EpisodeState, Event
from sloguard.records import (
    Attempt,
    EpisodeRecord,
    Fence,
    OutboxCounts,
    OutboxRow,
    Pending,
    shard_of,
)
from sloguard.store import _notifier_state as notifier_rows
from sloguard.store import _record as recorded
from sloguard.store import leases
from sloguard.store._attempts import statements
from sloguard.store._history import EPISODE_COLUMNS, Fetch, episode_record
from sloguard.store._pg import connect, marks, redact
from sloguard.store._schema import PG_MIGRATIONS, SCHEMA_VERSION

_SQL = recorded.Statements.written_with(marks)
# Every idle key's last_at and budget in one statement: one UPDATE per key (pipelined) was
# most of a PostgreSQL tick's commit at 10,000 SLOs. The same rows as recorded.record_seen.
_SEEN_ALL = (
    "UPDATE slo_state AS s SET last_at = v.last_at, last_budget_remaining = v.budget "
    "FROM unnest(%s::text[], %s::float8[], %s::float8[]) AS v(slo, last_at, budget) "
    "WHERE s.slo = v.slo"
)
# pg_advisory_xact_lock key of schema migrations: "sloguard" in ASCII, as an int64.
MIGRATION_LOCK = 0x736C6F6775617264


class PostgresStore:
    """The state database in PostgreSQL. Not thread-safe: one owner (the daemon's event loop)."""

    def __init__(self, url: str, password: SecretStr | None) -> None:
        self.url = url
        self.path = redact(url)  # what messages and the CLI show as "where the state is"
        self._password = password
        self._db: psycopg.Connection[Any] | None = None
        # The leases this replica holds (sloguard.ha sets it after every claim): with it,
        # commits and delivery records are fenced and only held shards' rows are due.
        self.fence: Fence | None = None

    @classmethod
    def open(cls, url: str, *, password: SecretStr | None = None) -> PostgresStore:
        """Connect to ``url`` and migrate the schema forward (safe with several replicas)."""
        store = cls(url, password)
        try:
            store._migrate_all()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._db is not None and not self._db.closed and not self._db.broken:
            return self._db
        self.close()
        self._db = connect(self.url, self._password)
        return self._db

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            if self._db is not None and self._db.broken:
                self.close()  # the next call connects again
            raise StoreError(f"state database {self.path}: {type(exc).__name__}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._errors():
            db = self._connect()
            with db.transaction(), db.cursor() as cur:
                yield cur

    # --- schema --------------------------------------------------------------------------

    def _migrate_all(self) -> None:
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS sloguard_schema (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM sloguard_schema")
            row = cur.fetchone()
            version = 0 if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"state database {self.path} has schema version {version}, newer than this "
                    f"sloguard understands ({SCHEMA_VERSION}); run a newer sloguard"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in PG_MIGRATIONS[target].split(";"):
                    if statement.strip():
                        cur.execute(statement.encode())
            if row is None:
                cur.execute("INSERT INTO sloguard_schema VALUES (%s)", (SCHEMA_VERSION,))
            else:
                cur.execute("UPDATE sloguard_schema SET version = %s", (SCHEMA_VERSION,))

    @property
    def schema_version(self) -> int:
        with self._transaction() as cur:
            cur.execute("SELECT version FROM sloguard_schema")
            row = cur.fetchone()
        return 0 if row is None else int(row[0])

    # --- leases (sloguard.store.leases) ---------------------------------------------------

    def claim(
        self, instance: str, shards: int, lease_seconds: float, previous: Fence | None = None
    ) -> leases.Claim:
        """Renew, rebalance and take this replica's shard leases (one transaction)."""
        held = previous.epochs if previous is not None else None
        with self._transaction() as cur:
            return leases.claim(cur, instance, shards, lease_seconds, held)

    def release(self, instance: str) -> None:
        """Give back every lease of ``instance`` (clean shutdown)."""
        with self._transaction() as cur:
            leases.release(cur, instance)

    def _shard(self, key: str) -> int:
        return 0 if self.fence is None else shard_of(key, self.fence.shards)

    # --- episode state -------------------------------------------------------------------

    def load_states(self) -> dict[str, EpisodeState]:
        """The last committed state of every SLO key."""
        with self._transaction() as cur:
            return recorded.states(cur.execute(_SQL.load).fetchall())

    def commit(
        self, state: EpisodeState, events: Sequence[Event], rows: Sequence[OutboxRow], at: float
    ) -> int:
        """One SLO's new state, transitions and outbox rows in one transaction."""
        return self.commit_many([(state, events, rows)], at)[0]

    def commit_many(
        self,
        changes: Sequence[tuple[EpisodeState, Sequence[Event], Sequence[OutboxRow]]],
        at: float,
        *,
        seen: Sequence[EpisodeState] = (),
    ) -> list[int]:
        """Many keys' changes in one transaction (see the SQLite store's docstring)."""
        if not changes and not seen:
            return []
        with self._transaction() as cur:
            leases.check_keys(cur, self.fence, [c[0].slo for c in changes] + [s.slo for s in seen])
            queued = [recorded.record(cur, _SQL, change, at, self._shard) for change in changes]
            if seen:
                cur.execute(
                    _SEEN_ALL,
                    (
                        [x.slo for x in seen],
                        [x.last_at for x in seen],
                        [x.last_budget_remaining for x in seen],
                    ),
                )
            return queued

    # --- outbox --------------------------------------------------------------------------

    def due(self, now: float, limit: int = 100) -> list[Pending]:
        """Pending rows whose time has come and that head their (notifier, episode) queue;
        with a fence, only rows of the shards this replica holds."""
        held = None if self.fence is None else list(self.fence.epochs)
        with self._transaction() as cur:
            rows = cur.execute(
                f"SELECT {recorded.PENDING_COLUMNS} FROM outbox AS o "  # noqa: S608  # nosec B608
                "WHERE status = 'pending' AND next_attempt_at <= %s "
                "AND (%s::int[] IS NULL OR shard = ANY(%s::int[])) AND NOT EXISTS ("
                "  SELECT 1 FROM outbox AS p WHERE p.notifier = o.notifier"
                "  AND p.episode_id = o.episode_id AND p.status = 'pending' AND p.id < o.id) "
                "ORDER BY id LIMIT %s",
                (now, held, held, limit),
            ).fetchall()
        return [recorded.pending(r) for r in rows]

    def next_due_at(self) -> float | None:
        """When the earliest pending row (of a held shard, with a fence) becomes due, or None."""
        held = None if self.fence is None else list(self.fence.epochs)
        with self._transaction() as cur:
            row = cur.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending' "
                "AND (%s::int[] IS NULL OR shard = ANY(%s::int[]))",
                (held, held),
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        """What became of a batch of due rows, in one transaction (all or nothing); with a
        fence, refused (:class:`~sloguard.errors.FencedError`) unless every row's shard is
        still held."""
        if not attempts:
            return
        with self._transaction() as cur:
            leases.check_rows(cur, self.fence, [a.row_id for a in attempts])
            for attempt in attempts:
                for sql, params in statements(attempt):
                    cur.execute(marks(sql), params)

    def counts(self) -> OutboxCounts:
        with self._transaction() as cur:
            rows = dict(cur.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
        return OutboxCounts(
            pending=rows.get("pending", 0),
            delivered=rows.get("delivered", 0),
            dead=rows.get("dead", 0),
        )

    # --- history -------------------------------------------------------------------------

    def episodes(self, slo: str | None = None) -> list[EpisodeRecord]:
        """Every episode (of ``slo``, if given), oldest first, with transitions and deliveries."""
        where, args = ("WHERE slo = %s", (slo,)) if slo else ("", ())
        with self._transaction() as cur:
            heads = cur.execute(
                f"SELECT {EPISODE_COLUMNS} FROM episodes {where} "  # noqa: S608  # nosec B608
                "ORDER BY declared_at, id".encode(),
                args,
            ).fetchall()
            return [episode_record(self._fetcher(cur), *head) for head in heads]

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        with self._transaction() as cur:
            head = cur.execute(
                f"SELECT {EPISODE_COLUMNS} FROM episodes WHERE id = %s".encode(),  # noqa: S608  # nosec B608
                (episode_id,),
            ).fetchone()
            return None if head is None else episode_record(self._fetcher(cur), *head)

    @staticmethod
    def _fetcher(cur: psycopg.Cursor[Any]) -> Fetch:
        """Run a query written with ``?`` marks (shared with SQLite) on ``cur``."""
        return lambda sql, args: cur.execute(marks(sql), args).fetchall()

    def notifier_state(self, notifier: str, episode_id: str) -> dict[str, Any]:
        """What ``notifier`` recorded for the episode ({} when nothing yet)."""
        with self._transaction() as cur:
            row = cur.execute(marks(notifier_rows.SELECT), (notifier, episode_id)).fetchone()
        return notifier_rows.decode(row)

    def save_notifier_state(
        self, notifier: str, episode_id: str, state: Mapping[str, Any], at: float
    ) -> None:
        """Replace what ``notifier`` recorded for the episode, durably (its own transaction)."""
        row = (notifier, episode_id, notifier_rows.encode(state), at)
        with self._transaction() as cur:
            cur.execute(marks(notifier_rows.UPSERT), row)

    def latest_payload(self, episode_id: str) -> dict[str, Any] | None:
        """The newest notification queued for the episode, or None."""
        with self._transaction() as cur:
            row = cur.execute(
                "SELECT payload FROM outbox WHERE episode_id = %s ORDER BY id DESC LIMIT 1",
                (episode_id,),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))
