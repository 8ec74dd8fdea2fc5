"""PostgreSQL connection helpers: how the store connects, and how it shows and writes SQL."""

from __future__ import annotations

from typing import Any

import psycopg
from pydantic import SecretStr

STATEMENT_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_SECONDS = 5


def connect(url: str, password: SecretStr | None) -> psycopg.Connection[Any]:
    """A connection whose statements time out, so a slow server cannot hold the event loop."""
    extra: dict[str, Any] = {}
    if password is not None:
        extra["password"] = password.get_secret_value()
    return psycopg.connect(
        url,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        application_name="sloguard",
        **extra,
    )


def marks(sql: str) -> bytes:
    """A statement written with SQLite's ``?`` marks, with psycopg's ``%s`` instead."""
    return sql.replace("?", "%s").encode()


def redact(url: str) -> str:
    """``url`` without any password, for messages."""
    scheme, sep, rest = url.partition("://")
    auth, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{auth.partition(':')[0]}{at}{host}" if at else url
