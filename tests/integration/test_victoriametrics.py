"""VictoriaMetrics as the metrics backend: the same scenario imported into a real
``victoria-metrics`` and served by a real Prometheus must give the same severities through
``sloguard evaluate``, with burn rates close (MetricsQL's ``rate()`` does not extrapolate the way
Prometheus's does, docs/backends.md). ``sloguard generate``'s rules, replayed by a real
``vmalert`` into the same VictoriaMetrics, give the recorded series that recorded mode reads."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import scenarios as sc
from harness import vmserver
from harness.promserver import HOUR
from sloguard.engine import Engine
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.rules import ERRORS, INFO, RATIO, TOTAL
from sloguard.spec import load_slos
from tests.support.prom import Served
from tests.support.sources import Counting

pytestmark = pytest.mark.prometheus
ROOT = Path(__file__).resolve().parents[2]
JOB = 'job="sloguard-test"'
STEP = 60
# MetricsQL's rate() takes the increase between the last sample before the window and the last
# one in it, without Prometheus's extrapolation: a window's ratio moves by up to one sample's
# share of it (15 s of 5 m) around a change.
REL = 0.06


def spec(name: str, service: str) -> str:
    sel = f'{JOB},service="{service}"'
    return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: {service}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
"""


@pytest.fixture(scope="module")
def slo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("vm") / "slo_definitions"
    d.mkdir()
    services = ("checkout", "search", "idle")
    (d / "shop.yaml").write_text("---\n".join(spec(f"{s}-availability", s) for s in services))
    return d


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[vmserver.VictoriaMetricsServer]:
    if shutil.which("victoria-metrics") is None or shutil.which("vmalert") is None:
        reason = "needs Debian's victoria-metrics package (make victoria-metrics)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI runs `make test`, which installs it
        pytest.skip(reason)
    with vmserver.serve(sc.incidents(), base_dir=tmp_path_factory.mktemp("vmdata")) as server:
        yield server


def sloguard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloguard", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def evaluate(slo_dir: Path, url: str, at: float, *flags: str) -> list[dict[str, Any]]:
    done = sloguard(
        "evaluate", str(slo_dir), "--prometheus", url, "--at", str(at), "-o", "json", *flags
    )
    assert done.returncode == 0, done.stderr
    out: list[dict[str, Any]] = json.loads(done.stdout)
    return out


def assert_close(vm: dict[str, Any], prom: dict[str, Any]) -> None:
    for window, rate in prom["burn_rates"].items():
        got = vm["burn_rates"][window]
        if rate is None:
            assert got is None, (prom["slo"], window)
        else:
            assert got == pytest.approx(rate, rel=REL, abs=0.05), (prom["slo"], window, got, rate)


INSTANTS = [
    pytest.param(sc.OUTAGE_START - 10 * 60, id="before-outage"),
    pytest.param(sc.OUTAGE_START + 10 * 60, id="outage+10m"),
    pytest.param(sc.OUTAGE_END + 10 * 60, id="after-outage"),
    pytest.param(4 * HOUR, id="search-burn-idle-drop"),
    pytest.param(12 * HOUR, id="end"),
]


@pytest.mark.parametrize("offset", INSTANTS)
def test_evaluate_gives_the_same_severities_as_prometheus(
    vm: vmserver.VictoriaMetricsServer, incidents: Served, slo_dir: Path, offset: int
) -> None:
    at = incidents.scenario.at(offset) + 7  # off the sample grid
    from_vm = evaluate(slo_dir, vm.url, at, "--no-recorded")
    from_prom = evaluate(slo_dir, incidents.url, at, "--no-recorded")
    assert [(e["slo"], e["severity"]) for e in from_vm] == [
        (e["slo"], e["severity"]) for e in from_prom
    ]
    for v, p in zip(from_vm, from_prom, strict=True):
        assert_close(v, p)


def _passes(rule_dir: Path) -> tuple[str, str]:
    """The generated rules in two replay passes: event rates and info first, then the ratios
    computed from them (a replayed rule reads only what earlier passes wrote)."""
    first: list[dict[str, object]] = []
    second: list[dict[str, object]] = []
    for path in sorted(rule_dir.rglob("*.y*ml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("record", "")
                if name.startswith((ERRORS, TOTAL)) or name == INFO:
                    first.append(rule)
                elif name.startswith(RATIO):
                    second.append(rule)
    first_text, second_text = (
        yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}) for rules in (first, second)
    )
    return first_text, second_text


@pytest.fixture(scope="module")
def replayed(
    vm: vmserver.VictoriaMetricsServer, slo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> vmserver.VictoriaMetricsServer:
    rule_dir = tmp_path_factory.mktemp("rules")
    done = sloguard("generate", str(slo_dir), "-o", str(rule_dir))
    assert done.returncode == 0, done.stderr
    scenario = sc.incidents()
    for n, text in enumerate(_passes(rule_dir)):
        path = rule_dir.parent / f"pass{n}.yml"
        path.write_text(text)
        vmserver.replay_rules(vm, path, scenario.at(HOUR), scenario.end, interval_seconds=STEP)
    return vm


def _recorded_queries(url: str, slo_dir: Path, at: float) -> list[str]:
    """The queries recorded mode sends at ``at``: recorded series where the rules ran."""

    async def go() -> list[str]:
        async with PrometheusClient(PrometheusConfig(url=url)) as client:
            source = Counting(client)
            await Engine().evaluate_all(load_slos([slo_dir]), source, at, recorded=True)
            return source.asked

    return asyncio.run(go())


@pytest.mark.parametrize("offset", INSTANTS[1:4])
def test_vmalert_records_what_recorded_mode_reads(
    replayed: vmserver.VictoriaMetricsServer, slo_dir: Path, offset: int
) -> None:
    at = sc.incidents().at(offset) + 7
    recorded = evaluate(slo_dir, replayed.url, at, "--recorded")
    direct = evaluate(slo_dir, replayed.url, at, "--no-recorded")
    assert [(e["slo"], e["severity"]) for e in recorded] == [
        (e["slo"], e["severity"]) for e in direct
    ]
    for r, d in zip(recorded, direct, strict=True):
        assert_close(r, d)
    asked = _recorded_queries(replayed.url, slo_dir, at)
    assert any(RATIO in q for q in asked), "recorded mode read the vmalert-recorded ratios"
    assert not any("http_requests_total" in q and "[5m]" in q for q in asked)


def test_the_daemon_in_recorded_mode_declares_the_outage_from_vmalert_series(
    replayed: vmserver.VictoriaMetricsServer, slo_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "sloguard.yaml"
    config.write_text(
        f"prometheus:\n  url: {replayed.url}\n"
        f"slo_paths: [{slo_dir}]\n"
        f"state_path: {tmp_path / 'state.db'}\n"
        "recorded_series:\n  mode: auto\n  direct_windows_max_seconds: 0\n"
    )
    at = sc.incidents().at(sc.OUTAGE_START + 10 * 60) + 7
    done = sloguard("run", "--config", str(config), "--once", "--at", str(at))
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[1:-1]}
    assert rows["checkout-availability"][:2] == ["SEV1", "firing"]
    assert "declared SEV1" in " ".join(rows["checkout-availability"])
    assert rows["search-availability"][0] == "SEV2"
