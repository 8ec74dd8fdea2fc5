"""Mimir/Cortex tenants and Thanos query parameters, on the wire: a loopback HTTP server records
what the client sends (``X-Scope-OrgID``; ``partial_response`` and ``dedup`` in the form of
every instant and range query), and the config refuses a tenant given twice or malformed. An
SLO may name its own tenant (``spec.prometheus.tenant``): its queries carry it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import click
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from sloguard.backtest import Options, replay
from sloguard.cli._prometheus import Connection, prometheus_config
from sloguard.cli.backtest import backtest as backtest_command
from sloguard.config import parse_config
from sloguard.engine import Engine
from sloguard.errors import ConfigError
from sloguard.model import SLO, RatioIndicator
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.spec import load_slos

VECTOR = {"status": "success", "data": {"resultType": "vector", "result": []}}
MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": []}}


class Seen:
    """What the loopback server received: (path, headers, form) per request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            seen.requests.append((self.path, dict(self.headers.items()), form))
            body = json.dumps(MATRIX if self.path.endswith("query_range") else VECTOR).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/prometheus", seen
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def ask(config: PrometheusConfig) -> None:
    async def go() -> None:
        async with PrometheusClient(config) as client:
            await client.query("up", 1704067200.0)
            await client.query_range("up", 1704067200.0, 1704067260.0, 60.0)

    asyncio.run(go())


CASES = [
    pytest.param({}, None, {}, id="plain-prometheus"),
    pytest.param({"tenant": "team-a"}, "team-a", {}, id="mimir-tenant"),
    pytest.param({"tenant": "team-a|team-b"}, "team-a|team-b", {}, id="mimir-federated-tenants"),
    pytest.param(
        {"headers": {"X-Scope-OrgID": "team-c"}}, "team-c", {}, id="tenant-as-plain-header"
    ),
    pytest.param(
        {"partial_response": False, "dedup": True},
        None,
        {"partial_response": "false", "dedup": "true"},
        id="thanos-strict-deduplicated",
    ),
    pytest.param(
        {"partial_response": True},
        None,
        {"partial_response": "true"},
        id="thanos-partial-allowed",
    ),
    pytest.param(
        {"tenant": "t1", "dedup": False},
        "t1",
        {"dedup": "false"},
        id="tenant-and-thanos",
    ),
]


@pytest.mark.parametrize(("fields", "tenant", "params"), CASES)
def test_every_query_carries_the_tenant_and_the_thanos_parameters(
    server: tuple[str, Seen], fields: dict[str, Any], tenant: str | None, params: dict[str, str]
) -> None:
    url, seen = server
    ask(PrometheusConfig(url=url, **fields))
    paths = [path for path, _, _ in seen.requests]
    assert paths == ["/prometheus/api/v1/query", "/prometheus/api/v1/query_range"]
    for _, headers, form in seen.requests:
        assert headers.get("X-Scope-OrgID") == tenant
        thanos = {k: v for k, v in form.items() if k in ("partial_response", "dedup")}
        assert thanos == params
        assert form["query"] == "up"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"tenant": "a", "headers": {"x-scope-orgid": "b"}},
            "give the tenant once",
            id="tenant-twice",
        ),
        pytest.param({"tenant": "a b"}, "tenant", id="space-in-tenant"),
        pytest.param({"tenant": "a\nX-Evil: 1"}, "tenant", id="header-injection"),
        pytest.param({"tenant": ""}, "tenant", id="empty-tenant"),
        pytest.param({"dedup": "maybe"}, "dedup", id="dedup-not-a-boolean"),
    ],
)
def test_bad_tenant_or_thanos_settings_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PrometheusConfig(url="http://prom:9090", **fields)


def test_the_daemon_config_names_the_file_line_and_field() -> None:
    text = "prometheus:\n  url: http://mimir:8080/prometheus\n  tenant: 'a b'\nslo_paths: [x]\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "sloguard.yaml")
    assert "sloguard.yaml:3" in str(err.value)
    assert "prometheus.tenant" in str(err.value)


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        pytest.param(Connection(), (None, {}), id="no-flags"),
        pytest.param(Connection(tenant="team-a"), ("team-a", {}), id="tenant"),
        pytest.param(
            Connection(partial_response=False, dedup=True),
            (None, {"partial_response": "false", "dedup": "true"}),
            id="thanos",
        ),
    ],
)
def test_the_command_line_flags_give_the_same_config(
    connection: Connection, expected: tuple[str | None, dict[str, str]]
) -> None:
    config = prometheus_config("http://thanos:10902", 10.0, 2, connection)
    assert (config.tenant, config.query_params()) == expected


def test_a_bad_tenant_flag_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError, match="tenant"):
        prometheus_config("http://mimir:8080", 10.0, 2, Connection(tenant="a b"))


def tenant_slo(name: str, job: str, tenant: str | None) -> SLO:
    sel = f'job="{job}"'
    return SLO(
        name=name,
        service=name,
        objective_percent=99.9,
        period_seconds=30 * 86400,
        indicator=RatioIndicator(
            errors=f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))',
            total=f"sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))",
        ),
        tenant=tenant,
    )


@pytest.mark.parametrize(
    ("connection_tenant", "expected_default"),
    [
        pytest.param(None, None, id="no-connection-tenant"),
        pytest.param("platform", "platform", id="connection-tenant-for-the-rest"),
    ],
)
def test_each_slo_is_asked_with_its_own_tenant_never_combined_with_another(
    server: tuple[str, Seen], connection_tenant: str | None, expected_default: str | None
) -> None:
    """Two SLOs of two tenants with the very same queries would be one combined query in one
    tenant; each is asked in its own (probe of recorded series included), and an SLO without
    a tenant is asked with the connection's."""
    url, seen = server
    slos = [
        tenant_slo("checkout", "shop", "team-a"),
        tenant_slo("checkout-b", "shop", "team-b"),
        tenant_slo("search", "search", None),
    ]

    async def go() -> list[str]:
        config = PrometheusConfig(url=url, tenant=connection_tenant)
        async with PrometheusClient(config) as client:
            evaluations = await Engine().evaluate_all(slos, client, 1704067200.0)
        return [ev.slo for ev in evaluations]

    assert asyncio.run(go()) == ["checkout", "checkout-b", "search"]
    asked: dict[str | None, set[str]] = {}
    for _, headers, form in seen.requests:
        asked.setdefault(headers.get("X-Scope-OrgID"), set()).add(form["query"])
    assert set(asked) == {"team-a", "team-b", expected_default}
    shop = {q for q in asked["team-a"] if 'job="shop"' in q}
    assert shop, asked["team-a"]
    assert {q for q in asked["team-b"] if 'job="shop"' in q} == shop
    for tenant, queries in asked.items():
        assert not any('job="search"' in q for q in queries) or tenant == expected_default
        assert not any('job="shop"' in q for q in queries) or tenant in ("team-a", "team-b")


def test_an_slo_file_names_its_tenant(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(
        "apiVersion: sloguard/v1\nkind: SLO\nmetadata: {name: checkout}\nspec:\n"
        "  service: checkout\n  objective: 99.9\n  prometheus: {tenant: team-a|team-b}\n"
        "  indicator: {raw: {error_ratio: 'avg_over_time(x[{{.window}}])'}}\n"
    )
    (slo,) = load_slos([path])
    assert slo.tenant == "team-a|team-b"


def test_a_backtest_asks_in_its_slos_tenant(server: tuple[str, Seen]) -> None:
    url, seen = server
    slos = [tenant_slo("checkout", "shop", "team-a"), tenant_slo("cart", "cart", "team-a")]
    options = Options(start=1704067200.0, end=1704067200.0 + 3600, step=60.0)

    async def go() -> None:
        async with PrometheusClient(PrometheusConfig(url=url, tenant="platform")) as client:
            await replay(slos, client, options)

    asyncio.run(go())
    assert seen.requests
    assert {headers.get("X-Scope-OrgID") for _, headers, _ in seen.requests} == {"team-a"}


def test_a_backtest_of_several_tenants_is_refused_not_combined() -> None:
    slos = [tenant_slo("checkout", "shop", "team-a"), tenant_slo("search", "search", None)]
    options = Options(start=1704067200.0, end=1704067200.0 + 3600, step=60.0)
    with pytest.raises(ValueError, match="several tenants"):
        asyncio.run(replay(slos, object(), options))  # type: ignore[arg-type]


def test_the_backtest_command_names_the_tenants_it_refuses(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    doc = (
        "apiVersion: sloguard/v1\nkind: SLO\nmetadata: {{name: {name}}}\nspec:\n"
        "  service: {name}\n  objective: 99.9\n{tenant}"
        "  indicator: {{raw: {{error_ratio: 'avg_over_time(x[{{{{.window}}}}])'}}}}\n"
    )
    path.write_text(
        doc.format(name="a", tenant="  prometheus: {tenant: team-a}\n")
        + "---\n"
        + doc.format(name="b", tenant="")
    )
    result = CliRunner().invoke(
        backtest_command,
        [str(path), "--prometheus", "http://127.0.0.1:9", "--from", "2024-01-01T00:00:00Z",
         "--to", "2024-01-01T01:00:00Z"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "several tenants ((the connection's), team-a)" in result.output
