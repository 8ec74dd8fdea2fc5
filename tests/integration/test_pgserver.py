"""The harness's PostgreSQL: it starts, answers, survives a crash-stop and a restart."""

from __future__ import annotations

import psycopg
import pytest

from harness.pgserver import PostgresServer


def test_serves_a_database_on_loopback(postgres: PostgresServer) -> None:
    with psycopg.connect(postgres.url) as db:
        row = db.execute("SELECT current_database(), inet_server_addr()::text").fetchone()
    assert row == ("sloguard", "127.0.0.1/32")


def test_crash_stop_cuts_clients_and_restart_keeps_data(postgres: PostgresServer) -> None:
    url = postgres.fresh_database("crash")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE kept (x int)")
        db.execute("INSERT INTO kept VALUES (1)")
        postgres.stop("immediate")
        with pytest.raises(psycopg.OperationalError):
            db.execute("SELECT 1")
    postgres.start()
    with psycopg.connect(url) as db:
        assert db.execute("SELECT x FROM kept").fetchall() == [(1,)]
