"""The state database: episode state, episode history and the durable outbox, in SQLite (one
replica, the default) or PostgreSQL (several replicas sharing it, :mod:`.postgres`).

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

from pydantic import SecretStr

from sloguard.store.postgres import PostgresStore
from sloguard.store.sqlite import Store

__all__ = ["AnyStore", "PostgresStore", "Store", "open_store"]

AnyStore = Store | PostgresStore


def open_store(*, path: str | None, url: str | None, password: SecretStr | None = None) -> AnyStore:
    """The SQLite store at ``path`` or the PostgreSQL store at ``url`` (exactly one is given;
    the config checks that), opened and migrated."""
    if url is not None:
        return PostgresStore.open(url, password=password)
    assert path is not None
    return Store.open(path)
