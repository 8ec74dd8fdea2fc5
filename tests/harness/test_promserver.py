"""The real-Prometheus harness: the text it writes, the server it starts, the truth it computes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from prometheus_api_client import PrometheusConnect

from harness import scenarios
from harness.promserver import (
    HOUR,
    Latency,
    PrometheusError,
    Scenario,
    Service,
    availability_slo,
    latency_slo,
    outage,
    start_prometheus,
)
from sloguard.durations import format_duration
from tests.support.prom import Served

TINY = Scenario(
    services=(Service("a", rps=10, events=(outage(HOUR, 600),)),),
    duration_seconds=3 * HOUR,
    step_seconds=60,
)


def test_openmetrics_text_is_seconds_ordered_and_ends_with_eof() -> None:
    text = TINY.generate().openmetrics(TINY.start, TINY.start + 7200)
    lines = text.splitlines()
    assert lines[-1] == "# EOF"
    samples = [ln for ln in lines if not ln.startswith("#")]
    stamps = [int(ln.rsplit(" ", 1)[1]) for ln in samples]
    assert min(stamps) == TINY.start
    assert max(stamps) < TINY.start + 7200
    by_series: dict[str, list[int]] = {}
    for ln, ts in zip(samples, stamps, strict=True):
        by_series.setdefault(ln.split(" ", 1)[0], []).append(ts)
    assert all(ts == sorted(ts) for ts in by_series.values())
    assert len(by_series) == 2


def test_one_file_per_2h_block(tmp_path: Path) -> None:
    files = TINY.generate().block_files(tmp_path)
    # 0..3h inclusive: samples at 0h..2h, 2h..3h(incl. the 3h sample) -> two blocks
    assert [f.name for f in files] == [f"block-{TINY.start}.om", f"block-{TINY.start + 7200}.om"]


def test_outage_increments_show_from_the_next_sample() -> None:
    data = TINY.generate()
    at = TINY.at(HOUR + 60)
    assert data.error_ratio("a", 60, at) == pytest.approx(1.0)
    assert data.error_ratio("a", 60, TINY.at(HOUR)) == pytest.approx(0.0005)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"start": 1704067200000}, "unix \\*seconds\\*", id="milliseconds"),
        pytest.param({"duration_seconds": 3 * HOUR + 1}, "multiple of step", id="off-step"),
    ],
)
def test_scenario_rejects_mistakes(kwargs: dict[str, int], message: str) -> None:
    args: dict[str, object] = {"services": TINY.services, "duration_seconds": 3 * HOUR, **kwargs}
    with pytest.raises(ValueError, match=message):
        Scenario(**args)  # type: ignore[arg-type]


def test_latency_threshold_must_be_a_bucket() -> None:
    with pytest.raises(ValueError, match="one of the buckets"):
        Latency(threshold_seconds=0.3)


@pytest.mark.prometheus
def test_a_dying_prometheus_fails_with_its_log_tail(tmp_path: Path) -> None:
    with pytest.raises(PrometheusError, match="exited with") as info:
        start_prometheus(tmp_path / "data", tmp_path, extra_args=["--no-such-flag"])
    assert "no-such-flag" in str(info.value)


WINDOWS = [300, 1800, 3600, 7200, 21600, 86400, 3 * 86400, 30 * 86400]
OFFSETS = [
    scenarios.OUTAGE_START - 600,
    scenarios.OUTAGE_START + 45,
    scenarios.OUTAGE_START + 60,
    scenarios.OUTAGE_START + 1200,
    scenarios.OUTAGE_END + 600,
    scenarios.OUTAGE_END + 4000,
]


@pytest.mark.prometheus
@pytest.mark.parametrize("offset", OFFSETS, ids=[f"+{o}s" for o in OFFSETS])
def test_prometheus_ratios_match_the_generated_increments(incidents: Served, offset: int) -> None:
    """Second client (prometheus-api-client) against the independent computation."""
    prom = PrometheusConnect(incidents.url, disable_ssl=True)
    at = incidents.scenario.at(offset) + 7  # off the grid: same under Prometheus 2 and 3
    slo = availability_slo(incidents.scenario, "checkout")
    for w in WINDOWS:
        got = prom.custom_query(slo.error_ratio_query(format_duration(w)), params={"time": at})
        assert float(got[0]["value"][1]) == pytest.approx(
            incidents.data.error_ratio("checkout", w, at), rel=1e-9
        ), w
        total = prom.custom_query(slo.total_query(format_duration(w)) or "", params={"time": at})
        assert float(total[0]["value"][1]) == pytest.approx(
            incidents.data.request_rate("checkout", w, at), rel=1e-9
        ), w


@pytest.mark.prometheus
def test_prometheus_latency_ratio_matches_the_histogram(incidents: Served) -> None:
    prom = PrometheusConnect(incidents.url, disable_ssl=True)
    slo = latency_slo(incidents.scenario, "catalog")
    for offset in (scenarios.SLOW_START - 600, scenarios.SLOW_START + 1800):
        at = incidents.scenario.at(offset) + 7
        got = prom.custom_query(slo.error_ratio_query("1h"), params={"time": at})
        want = incidents.data.latency_ratio("catalog", 0.25, 3600, at)
        assert want is not None
        assert float(got[0]["value"][1]) == pytest.approx(want, rel=1e-9)


@pytest.mark.prometheus
def test_zero_traffic_is_nan_in_prometheus_and_none_in_the_truth(incidents: Served) -> None:
    prom = PrometheusConnect(incidents.url, disable_ssl=True)
    at = incidents.scenario.at(scenarios.IDLE_START + 2 * HOUR) + 7
    slo = availability_slo(incidents.scenario, "idle")
    got = prom.custom_query(slo.error_ratio_query("1h"), params={"time": at})
    assert math.isnan(float(got[0]["value"][1]))
    assert incidents.data.error_ratio("idle", 3600, at) is None
