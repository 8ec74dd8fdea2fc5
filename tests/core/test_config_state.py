"""The state database in the config: exactly one of state_path and state_url, located."""

from __future__ import annotations

import pytest

from sloguard.config import parse_config
from sloguard.errors import ConfigError

HEAD = 'prometheus: {url: "http://127.0.0.1:9090"}\nslo_paths: [slos/]\n'


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            "",
            "sloguard.yaml:1:1: error: state_path: give exactly one of state_path",
            id="neither",
        ),
        pytest.param(
            "state_path: s.db\nstate_url: postgresql://sg@db:5432/sloguard\n",
            "sloguard.yaml:4:1: error: state_url: give exactly one of state_path",
            id="both",
        ),
        pytest.param(
            "state_url: postgresql://sg:hunter2@db:5432/sloguard\n",
            "sloguard.yaml:3:1: error: state_url: holds a password; put it in state_password_file",
            id="password-in-url",
        ),
        pytest.param(
            "state_url: mysql://sg@db/sloguard\n",
            "sloguard.yaml:3:1: error: state_url: not a PostgreSQL URL; expected postgresql://USER@HOST:PORT/DB",
            id="not-postgresql",
        ),
        pytest.param(
            "state_path: s.db\nstate_password_env: PGPASSWORD\n",
            "sloguard.yaml:4:1: error: state_password_env: applies only with state_url",
            id="password-without-url",
        ),
        pytest.param(
            "state_path: s.db\nha: {shards: 2}\n",
            "sloguard.yaml:4:1: error: ha: applies only with state_url",
            id="ha-without-url",
        ),
        pytest.param(
            "state_url: postgresql://sg@db/sloguard\nha: {lease_seconds: 15}\n",
            "sloguard.yaml:4:6: error: ha.lease_seconds: 15 s is too short for a tick every 30 s",
            id="lease-shorter-than-a-tick",
        ),
        pytest.param(
            "state_url: postgresql://sg@db/sloguard\nha: {shards: 0}\n",
            "sloguard.yaml:4:6: error: ha.shards: Input should be greater than or equal to 1",
            id="no-shards",
        ),
    ],
)
def test_state_database_errors_are_located(lines: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(HEAD + lines, "sloguard.yaml")
    assert any(str(p).startswith(expected) for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql://sg@db:5432/sloguard", id="plain"),
        pytest.param("postgresql://sg@db.example:5432/sloguard?sslmode=verify-full", id="tls"),
        pytest.param("postgres://sg@db/sloguard", id="short-scheme"),
    ],
)
def test_a_state_url_alone_is_valid(url: str) -> None:
    text = HEAD + f"interval_seconds: 5\nstate_url: {url}\nstate_password_env: PGPW\n"
    config = parse_config(text, "x.yaml")
    assert (config.state_url, config.state_path) == (url, None)
    assert (config.ha.shards, config.ha.lease_seconds) == (1, 15.0)
