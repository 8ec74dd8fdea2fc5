"""The schema, migrated forward step by step, and what SQLite's errors mean to a person.

SQLite (:data:`MIGRATIONS`) and PostgreSQL (:data:`PG_MIGRATIONS`) share the version numbers:
migration N means the same tables and columns on both, written in each engine's dialect
(PostgreSQL's ``REAL`` is 4 bytes, so times are ``DOUBLE PRECISION`` there).
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 6

# Migration N brings a database from version N-1 to N. Append, never edit a released one.
MIGRATIONS: dict[int, str] = {
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
    # High availability (PostgreSQL, sloguard.store.leases): each outbox row names its SLO's
    # shard, so only the replica holding that shard's lease delivers it. SQLite has one replica
    # and keeps shard 0; the lease tables exist on both so the versions mean the same.
    4: """
    ALTER TABLE outbox ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE leases (
        shard      INTEGER PRIMARY KEY,
        holder     TEXT NOT NULL,
        epoch      INTEGER NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE replicas (
        instance TEXT PRIMARY KEY,
        seen_at  REAL NOT NULL
    );
    """,
    # What a multi-call notifier has done for an episode (the incident channel's id, the steps
    # taken, the messages posted), so a retry or a restart continues instead of starting over.
    5: """
    CREATE TABLE notifier_state (
        notifier   TEXT NOT NULL,
        episode_id TEXT NOT NULL,
        state      TEXT NOT NULL,               -- JSON object, the notifier's own
        updated_at REAL NOT NULL,
        PRIMARY KEY (notifier, episode_id)
    );
    """,
    # The budget remaining at last_at, written beside last_at for an idle key, so other
    # replicas judge every key (their gate) as its holder evaluated it.
    6: """
    ALTER TABLE slo_state ADD COLUMN last_budget_remaining REAL;
    """,
}


# The same steps for PostgreSQL, same numbers. Append to both together.
PG_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE slo_state (
        slo        TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE episodes (
        id          TEXT PRIMARY KEY,
        slo         TEXT NOT NULL,
        declared_at DOUBLE PRECISION NOT NULL,
        resolved_at DOUBLE PRECISION,
        peak        TEXT NOT NULL
    );
    CREATE INDEX episodes_slo ON episodes (slo, declared_at);
    CREATE TABLE transitions (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        episode_id TEXT NOT NULL,
        slo        TEXT NOT NULL,
        at         DOUBLE PRECISION NOT NULL,
        kind       TEXT NOT NULL,
        severity   TEXT NOT NULL,
        previous   TEXT,
        paged      INTEGER NOT NULL,
        reason     TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX transitions_episode ON transitions (episode_id, id);
    CREATE TABLE outbox (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        notifier        TEXT NOT NULL,
        episode_id      TEXT NOT NULL,
        event_id        TEXT NOT NULL,
        kind            TEXT NOT NULL,
        slo             TEXT NOT NULL,
        severity        TEXT NOT NULL,
        payload         TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_at      DOUBLE PRECISION NOT NULL,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        last_error      TEXT NOT NULL DEFAULT '',
        last_status     INTEGER,
        finished_at     DOUBLE PRECISION,
        UNIQUE (notifier, event_id)
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE INDEX outbox_key ON outbox (notifier, episode_id, status, id);
    CREATE TABLE attempts (
        id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        outbox_id        BIGINT NOT NULL REFERENCES outbox (id),
        at               DOUBLE PRECISION NOT NULL,
        outcome          TEXT NOT NULL,
        status           INTEGER,
        error            TEXT NOT NULL DEFAULT '',
        duration_seconds DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    CREATE INDEX attempts_outbox ON attempts (outbox_id, id);
    """,
    2: """
    ALTER TABLE episodes ADD COLUMN burn_started_at DOUBLE PRECISION;
    ALTER TABLE episodes ADD COLUMN peak_burn_rate DOUBLE PRECISION;
    ALTER TABLE episodes ADD COLUMN burn_seconds DOUBLE PRECISION;
    ALTER TABLE episodes ADD COLUMN budget_remaining DOUBLE PRECISION;
    """,
    3: """
    ALTER TABLE slo_state ADD COLUMN last_at DOUBLE PRECISION;
    """,
    # Lease times are PostgreSQL's own (clock_timestamp()), never a replica's.
    4: """
    ALTER TABLE outbox ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_shard_due ON outbox (shard, status, next_attempt_at);
    CREATE TABLE leases (
        shard      INTEGER PRIMARY KEY,
        holder     TEXT NOT NULL,
        epoch      BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE replicas (
        instance TEXT PRIMARY KEY,
        seen_at  TIMESTAMPTZ NOT NULL
    );
    """,
    # What a multi-call notifier has done for an episode (the incident channel's id, the steps
    # taken, the messages posted), so a retry or a restart continues instead of starting over.
    5: """
    CREATE TABLE notifier_state (
        notifier   TEXT NOT NULL,
        episode_id TEXT NOT NULL,
        state      TEXT NOT NULL,               -- JSON object, the notifier's own
        updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (notifier, episode_id)
    );
    """,
    6: """
    ALTER TABLE slo_state ADD COLUMN last_budget_remaining DOUBLE PRECISION;
    """,
}


def classify(exc: sqlite3.Error, path: str) -> str:
    """A StoreError message for ``exc``: what is wrong with the database and what to do."""
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
