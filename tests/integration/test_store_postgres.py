"""What only the PostgreSQL store has: replicas migrating at once, a restarted server, a
password, a schema from the future. (The shared behaviour is tests/test_store.py, run on both.)"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from pydantic import SecretStr

from harness.pgserver import PostgresServer
from sloguard.errors import StoreError
from sloguard.store import PostgresStore
from sloguard.store._schema import MIGRATIONS, PG_MIGRATIONS, SCHEMA_VERSION

_N = itertools.count()


def fresh(postgres: PostgresServer) -> str:
    return postgres.fresh_database(f"pg_{next(_N)}")


def test_both_engines_have_the_same_schema_versions() -> None:
    assert sorted(PG_MIGRATIONS) == sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))


def test_replicas_migrating_at_once_migrate_once(postgres: PostgresServer) -> None:
    url = fresh(postgres)
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStore.open(url), range(4)))
    assert {s.schema_version for s in stores} == {SCHEMA_VERSION}
    with psycopg.connect(url) as db:
        assert db.execute("SELECT count(*) FROM sloguard_schema").fetchone() == (1,)
    for s in stores:
        s.close()


def test_a_newer_schema_is_refused(postgres: PostgresServer) -> None:
    url = fresh(postgres)
    PostgresStore.open(url).close()
    with psycopg.connect(url) as db:
        db.execute("UPDATE sloguard_schema SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this sloguard understands"):
        PostgresStore.open(url)


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    url = "postgresql://sloguard@127.0.0.1:1/sloguard"
    with pytest.raises(StoreError, match=r"database postgresql://sloguard@127\.0\.0\.1:1") as e:
        PostgresStore.open(url, password=SecretStr("hunter2"))
    assert "hunter2" not in str(e.value)


def test_a_restarted_server_fails_one_call_then_reconnects(postgres: PostgresServer) -> None:
    store = PostgresStore.open(fresh(postgres))
    assert store.counts().pending == 0
    postgres.stop("immediate")
    try:
        with pytest.raises(StoreError):
            store.counts()
    finally:
        postgres.start()
    assert store.counts().pending == 0  # a new connection, no restart of sloguard
    store.close()
