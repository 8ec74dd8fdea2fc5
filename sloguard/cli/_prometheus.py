"""The Prometheus connection options that `evaluate` and `backtest` share, in one place.

``@connection_options`` adds the auth and TLS flags to a command and hands them to it as one
``connection: Connection`` argument; :func:`prometheus_config` turns that, the URL, the timeout
and the retries into the same :class:`PrometheusConfig` the daemon reads from its config file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from pydantic import ValidationError

from sloguard.prometheus import BasicAuth, PrometheusConfig


@dataclass(frozen=True, slots=True)
class Connection:
    bearer_token_file: str | None = None
    bearer_token_env: str | None = None
    basic_auth_user: str | None = None
    basic_auth_password_file: str | None = None
    basic_auth_password_env: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    tenant: str | None = None
    partial_response: bool | None = None
    dedup: bool | None = None


_OPTIONS = (
    click.option("--bearer-token-file", metavar="FILE", help="Send the token in FILE as a bearer."),
    click.option(
        "--bearer-token-env", metavar="VAR", help="Send the token in env VAR as a bearer."
    ),
    click.option("--basic-auth-user", metavar="USER", help="Basic auth user name."),
    click.option("--basic-auth-password-file", metavar="FILE", help="Basic auth password file."),
    click.option("--basic-auth-password-env", metavar="VAR", help="Basic auth password env var."),
    click.option("--ca-file", metavar="PEM", help="CA bundle to verify Prometheus's certificate."),
    click.option("--insecure-skip-verify", is_flag=True, help="Do not verify TLS (testing only)."),
    click.option("--tenant", metavar="ID", help="Mimir/Cortex tenant, sent as X-Scope-OrgID."),
    click.option(
        "--partial-response/--no-partial-response",
        default=None,
        help="Thanos Query: allow (or refuse) answers some stores left out. Default: not sent.",
    ),
    click.option(
        "--dedup/--no-dedup",
        default=None,
        help="Thanos Query: deduplicate HA replicas' series. Default: not sent.",
    ),
)
_NAMES = tuple(Connection.__dataclass_fields__)


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the auth/TLS flags; the command receives them as ``connection: Connection``."""

    @functools.wraps(command)
    def collect(**kwargs: Any) -> Any:
        connection = Connection(**{name: kwargs.pop(name) for name in _NAMES})
        return command(connection=connection, **kwargs)

    for option in reversed(_OPTIONS):
        collect = option(collect)
    return collect


def prometheus_config(
    url: str, timeout: float, retries: int, connection: Connection
) -> PrometheusConfig:
    """The flags as a PrometheusConfig; a usage error (exit 2) that names the bad setting."""
    c = connection
    basic = None
    if c.basic_auth_user:
        if not (c.basic_auth_password_file or c.basic_auth_password_env):
            raise click.UsageError(
                "--basic-auth-user needs --basic-auth-password-file or --basic-auth-password-env"
            )
        basic = BasicAuth(
            username=c.basic_auth_user,
            password_file=c.basic_auth_password_file,
            password_env=c.basic_auth_password_env,
        )
    elif c.basic_auth_password_file or c.basic_auth_password_env:
        raise click.UsageError("a basic auth password needs --basic-auth-user")
    try:
        return PrometheusConfig(
            url=url,
            timeout_seconds=timeout,
            retries=retries,
            bearer_token_file=c.bearer_token_file,
            bearer_token_env=c.bearer_token_env,
            basic_auth=basic,
            ca_file=c.ca_file,
            insecure_skip_verify=c.insecure_skip_verify,
            tenant=c.tenant,
            partial_response=c.partial_response,
            dedup=c.dedup,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'prometheus'}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.UsageError(f"invalid Prometheus settings: {problems}") from None
