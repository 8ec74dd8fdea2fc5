"""What the gate tests share: SLO files on the incidents scenario, the CLI as a subprocess."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("checkout", "search", "idle")


def availability_yaml(service: str) -> str:
    """A 99.9 % / 30 d availability SLO on ``service`` of the scenarios' generated traffic."""
    sel = f'job="sloguard-test",service="{service}"'
    return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {service}-availability
spec:
  service: {service}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
"""


def write_slos(directory: Path) -> Path:
    """``directory/shop.yaml`` with the availability SLOs of checkout, search and idle."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "shop.yaml"
    path.write_text("---\n".join(availability_yaml(s) for s in SERVICES))
    return path


def run_gate(*args: str) -> subprocess.CompletedProcess[str]:
    """``sloguard gate ARGS`` from the checkout under test; never a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "sloguard", "gate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr
    return done


def write_daemon_config(directory: Path, prometheus_url: str) -> Path:
    """A daemon config on ``prometheus_url`` with the SLOs of :func:`write_slos`."""
    slos = write_slos(directory / "slos")
    config = directory / "sloguard.yaml"
    config.write_text(
        f'prometheus: {{url: "{prometheus_url}"}}\nslo_paths: [{slos}]\n'
        f"state_path: {directory / 'state.db'}\n"
    )
    return config


@contextlib.asynccontextmanager
async def daemon_endpoint(config_path: Path, at: float) -> AsyncIterator[str]:
    """The daemon's HTTP endpoint after one tick at ``at``: its base URL."""
    from sloguard.app import open_daemon
    from sloguard.clock import ManualClock
    from sloguard.config import load_config
    from sloguard.server import HttpServer, Readiness, Sources, build_app

    clock = ManualClock(at)
    async with open_daemon(load_config(config_path), clock=clock) as parts:
        report = await parts.run_tick(at)
        assert report.failures == ()
        server = HttpServer(
            build_app(
                Sources(
                    metrics=lambda: b"",
                    readiness=Readiness(clock, interval_seconds=30),
                    snapshot=parts.status,
                    gate=parts.gate,
                )
            )
        )
        await server.start("127.0.0.1", 0)
        try:
            host, port = server.address
            yield f"http://{host}:{port}"
        finally:
            await server.stop()
