"""``GET /api/v1/gate`` of a daemon ticked at one instant agrees with ``sloguard gate`` there.

The daemon's parts are built from a real config on a real Prometheus (the incidents scenario);
one tick at the instant, then the endpoint is asked over HTTP and the CLI as a subprocess.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import scenarios as sc
from sloguard.app import open_daemon
from sloguard.clock import ManualClock
from sloguard.config import load_config
from sloguard.server import HttpServer, Readiness, Sources, build_app
from tests.support.gate import daemon_endpoint, run_gate, write_slos
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus

# (query of the endpoint, the same policy as CLI flags)
POLICIES = [
    ({"service": "checkout"}, ["--service", "checkout"]),
    ({"slo": "search-availability"}, ["--slo", "search-availability"]),
    ({"service": "idle"}, ["--service", "idle"]),
    ({"service": "idle", "on_unknown": "allow"}, ["--service", "idle", "--on-unknown", "allow"]),
    (
        {"service": "checkout", "min_budget_percent": "60", "max_severity": "OK"},
        ["--service", "checkout", "--min-budget-percent", "60", "--max-severity", "OK"],
    ),
    ({}, []),
]
INSTANTS = [
    pytest.param(5 * 3600, id="before-the-outage"),
    pytest.param(sc.OUTAGE_START + 600, id="during-the-outage"),
]


async def ask_daemon(config_path: Path, at: float) -> list[tuple[int, dict[str, Any]]]:
    """One tick at ``at``, then every policy of POLICIES asked over HTTP."""
    async with (
        daemon_endpoint(config_path, at) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        replies = [await http.get("/api/v1/gate", params=q) for q, _ in POLICIES]
    return [(r.status_code, r.json()) for r in replies]


@pytest.mark.parametrize("offset", INSTANTS)
def test_endpoint_agrees_with_the_cli(incidents: Served, tmp_path: Path, offset: int) -> None:
    slos = write_slos(tmp_path / "slos")
    config = tmp_path / "sloguard.yaml"
    config.write_text(
        f'prometheus: {{url: "{incidents.url}"}}\nslo_paths: [{slos}]\n'
        f"state_path: {tmp_path / 'state.db'}\n"
    )
    at = incidents.scenario.at(offset)
    answers = asyncio.run(ask_daemon(config, at))
    exits = {0: 200, 1: 200, 3: 503}
    for (query, flags), (status, body) in zip(POLICIES, answers, strict=True):
        done = run_gate(str(slos), "--prometheus", incidents.url, "--at", str(at), "-o", "json",
                        *flags)  # fmt: skip
        assert done.returncode in exits, done.stderr
        assert status == exits[done.returncode], query
        assert body == json.loads(done.stdout), query


def test_bad_query_is_400_naming_the_parameter(incidents: Served, tmp_path: Path) -> None:
    slos = write_slos(tmp_path / "slos")
    config = tmp_path / "sloguard.yaml"
    config.write_text(
        f'prometheus: {{url: "{incidents.url}"}}\nslo_paths: [{slos}]\n'
        f"state_path: {tmp_path / 'state.db'}\n"
    )

    async def ask() -> httpx.Response:
        async with open_daemon(load_config(config), clock=ManualClock(0)) as parts:
            server = HttpServer(
                build_app(
                    Sources(
                        metrics=lambda: b"",
                        readiness=Readiness(ManualClock(0), interval_seconds=30),
                        snapshot=parts.status,
                        gate=parts.gate,
                    )
                )
            )
            await server.start("127.0.0.1", 0)
            try:
                host, port = server.address
                async with httpx.AsyncClient() as http:
                    return await http.get(f"http://{host}:{port}/api/v1/gate?max_severity=SEV1")
            finally:
                await server.stop()

    reply = asyncio.run(ask())
    assert reply.status_code == 400
    assert "max_severity" in reply.json()["error"]
