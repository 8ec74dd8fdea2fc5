"""`sloguard gate` as a subprocess on a real Prometheus holding the incidents scenario.

The exit status is what a pipeline reads: 0 with budget above the line, 1 below it or burning
too fast, 3 when the answer cannot be known (no data, Prometheus unreachable), 2 for usage.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from harness import scenarios as sc
from tests.support.gate import run_gate as gate
from tests.support.gate import write_slos
from tests.support.prom import Served

MONTH = 30 * 86400


@pytest.fixture
def slo_dir(tmp_path: Path) -> Path:
    write_slos(tmp_path / "slo_definitions")
    return tmp_path / "slo_definitions"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("offset", "flags", "status", "allowed", "unknown"),
    [
        pytest.param(5 * 3600, ["--service", "checkout"], 0, True, False, id="budget-above"),
        pytest.param(sc.OUTAGE_START + 600, ["--service", "checkout"], 1, False, False,
                     id="budget-below-during-the-outage"),
        pytest.param(5 * 3600, ["--slo", "search-availability"], 1, False, False,
                     id="search-burnt-its-budget"),
        pytest.param(5 * 3600, ["--service", "idle"], 3, False, True, id="no-data-unknown"),
        pytest.param(5 * 3600, ["--service", "idle", "--on-unknown", "allow"], 0, True, True,
                     id="no-data-allowed"),
        pytest.param(5 * 3600, ["--service", "checkout", "--min-budget-percent", "60"], 1, False,
                     False, id="higher-line-blocks"),
    ],
)  # fmt: skip
def test_gate_exit_status_follows_the_data(
    incidents: Served,
    slo_dir: Path,
    offset: int,
    flags: list[str],
    status: int,
    allowed: bool,
    unknown: bool,
) -> None:
    at = incidents.scenario.at(offset)
    done = gate(str(slo_dir), "--prometheus", incidents.url, "--at", str(at), "-o", "json", *flags)
    assert done.returncode == status, done.stderr
    body = json.loads(done.stdout)
    assert (body["allowed"], body["unknown"], body["at"]) == (allowed, unknown, at)
    assert bool(body["reasons"]) == (status != 0 or unknown)


@pytest.mark.prometheus
def test_reason_states_the_budget_the_samples_give(incidents: Served, slo_dir: Path) -> None:
    at = incidents.scenario.at(sc.OUTAGE_START + 600)
    done = gate(str(slo_dir), "--prometheus", incidents.url, "--at", str(at), "--slo",
                "checkout-availability", "--max-severity", "SEV2")  # fmt: skip
    assert done.returncode == 1
    ratio = incidents.data.error_ratio("checkout", MONTH, at)
    assert ratio is not None
    left = (1 - ratio / 0.001) * 100
    head, *reasons = done.stdout.splitlines()
    assert head.startswith("blocked: 1 SLO checked at ")
    assert reasons == [
        f"checkout-availability: {left:.1f}% of the error budget left, below the 10% the "
        "policy requires",
        "checkout-availability: burning at SEV1, above the allowed SEV2",
    ]


def test_unreachable_prometheus_is_unknown(slo_dir: Path) -> None:
    done = gate(str(slo_dir), "--prometheus", closed_port_url(), "--retries", "0")
    assert done.returncode == 3
    assert "could not be reached" in done.stderr
    assert done.stdout.startswith("unknown: blocked (--on-unknown block): 3 SLOs checked")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(["--slo", "checkout"], "--slo checkout: no such SLO", id="slo-typo"),
        pytest.param(["--service", "shop"], "--service shop: no SLO", id="service-typo"),
        pytest.param(["--max-severity", "SEV1"], "'SEV1' is not one of", id="sev1"),
        pytest.param(["--min-budget-percent", "101"], "101", id="above-100"),
    ],
)
def test_usage_errors_exit_2(slo_dir: Path, flags: list[str], message: str) -> None:
    done = gate(str(slo_dir), "--prometheus", closed_port_url(), *flags)
    assert done.returncode == 2
    assert message in done.stderr
