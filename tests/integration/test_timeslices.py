"""Time-slice SLIs against a real Prometheus (issue 15): the error ratio, burn rates, budget and
severity the engine reads for a Timeslices, a RatioTimeslices and a thresholdMetric SLO equal
an independent count of the generated minutes.

The scenario samples every 15 s, so each 1-minute slice holds the increments of one minute
whose state (error ratio, slow ratio, traffic) is constant. The expected values are computed
here from the generated counter samples alone: per minute, the increase of the 5xx and of all
requests, and of the histogram's buckets; a minute without requests is no slice.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from harness.promserver import (
    DAY,
    HOUR,
    Event,
    Latency,
    Scenario,
    Service,
    outage,
    serve,
    slowdown,
    traffic_drop,
)
from sloguard.burn import Evaluation
from sloguard.durations import parse_duration
from sloguard.engine import Engine
from sloguard.model import SLO, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.rules import render_rules, rule_groups, slo_rule_groups
from sloguard.spec import load
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
MIN = 60
BUDGET = 0.001  # 99.9 %
SLICE_TARGET = 0.95
P99_MAX_SECONDS = 0.25
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

SCENARIO = Scenario(
    services=(
        Service(
            "pay",
            rps=10.0,
            error_ratio=0.0005,
            latency=Latency(threshold_seconds=P99_MAX_SECONDS, slow_ratio=0.001),
            events=(
                Event(60 * MIN, 3 * MIN, error_ratio=0.2),  # 3 bad minutes
                slowdown(100 * MIN, 4 * MIN, slow_ratio=0.05),  # p99 above 250 ms for 4 minutes
                traffic_drop(130 * MIN, 10 * MIN),  # 10 minutes that are no slices at all
                Event(170 * MIN, 2 * MIN, error_ratio=0.03),  # good slices, 3 % errors
                outage(200 * MIN, 5 * MIN),
            ),
        ),
    ),
    duration_seconds=4 * HOUR,
    step_seconds=15,
)

RATIO = """
      ratio:
        errors: sum(rate(http_requests_total{service="pay",code=~"5.."}[{{.window}}]))
        total: sum(rate(http_requests_total{service="pay"}[{{.window}}]))"""
P99 = (
    "histogram_quantile(0.99, sum by (le) "
    '(rate(http_request_duration_seconds_bucket{service="pay"}[{{.window}}])))'
)
SPECS = {
    "minutes": f"slice: 1m\n      slice_target_percent: {SLICE_TARGET * 100:g}{RATIO}",
    "ratio-minutes": f"slice: 1m{RATIO}",
    "p99": f"threshold: {{query: '{P99}', op: lte, threshold: {P99_MAX_SECONDS}}}",
}


def _slos(tmp: Path) -> list[SLO]:
    docs = [
        f"apiVersion: sloguard/v1\nkind: SLO\nmetadata: {{name: {name}}}\nspec:\n"
        f"  service: pay\n  objective: 99.9\n  indicator:\n    timeslices:\n      {body}\n"
        for name, body in SPECS.items()
    ]
    path = tmp / "slos.yaml"
    path.write_text("---\n".join(docs), encoding="utf-8")
    result = load([path])
    assert result.problems == [], [str(p) for p in result.problems]
    return sorted(result.slos, key=lambda s: s.name)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs the prometheus and promtool binaries (make prometheus)")
    data = SCENARIO.generate()
    with serve(data, base_dir=tmp_path_factory.mktemp("prom")) as server:
        yield Served(SCENARIO, data, server)


# --- the independent computation --------------------------------------------------------------


def _minute(served: Served, end: int) -> Mapping[str, float] | None:
    """Increases over the minute ending at ``end``: 5xx, all requests, requests <= 250 ms."""
    data = served.data
    if end - MIN < data.times[0] or end > data.times[-1]:
        return None
    first, last = data.times.index(end - MIN), data.times.index(end)
    sums = {"errors": 0.0, "total": 0.0, "fast": 0.0}
    for key, values in data.series.items():
        labels = dict(key)
        grew = values[last] - values[first]
        if labels["__name__"] == "http_requests_total":
            sums["total"] += grew
            sums["errors"] += grew if labels["code"] == "500" else 0.0
        elif labels["__name__"] == "http_request_duration_seconds_bucket":
            sums["fast"] += grew if labels["le"] == repr(P99_MAX_SECONDS) else 0.0
    return sums


def _badness(name: str, m: Mapping[str, float]) -> float:
    ratio = m["errors"] / m["total"]
    if name == "minutes":
        return 1.0 if 1.0 - ratio < SLICE_TARGET else 0.0
    if name == "ratio-minutes":
        return ratio
    return 0.0 if m["fast"] >= 0.99 * m["total"] else 1.0  # p99 <= 250 ms


def expected_ratio(served: Served, name: str, window: int, at: float) -> float | None:
    """The mean badness of the minutes that end in ``[at - window, at]`` and had requests."""
    ends = range(int(at - window) // MIN * MIN + MIN, int(at) // MIN * MIN + 1, MIN)
    minutes = [m for m in (_minute(served, e) for e in ends) if m is not None and m["total"] > 0]
    if not minutes:
        return None
    return sum(_badness(name, m) for m in minutes) / len(minutes)


# 30-day SLO, default tiers: (severity, long, short, factor), SRE Workbook
TIERS = (
    (Severity.SEV1, HOUR, 5 * MIN, 14.4),
    (Severity.SEV2, 6 * HOUR, 30 * MIN, 6.0),
    (Severity.SEV3, DAY, 2 * HOUR, 3.0),
    (Severity.SEV3, 3 * DAY, 6 * HOUR, 1.0),
)


def expected_severity(burn: Mapping[int, float | None]) -> Severity:
    firing = [
        sev
        for sev, long, short, factor in TIERS
        if (burn[long] or 0.0) > factor and (burn[short] or 0.0) > factor
    ]
    return max(firing, default=Severity.OK)


def evaluate(served: Served, slos: list[SLO], at: float) -> list[Evaluation]:
    async def go() -> list[Evaluation]:
        async with PrometheusClient(PrometheusConfig(url=served.url)) as client:
            return await Engine().evaluate_all(slos, client, at)

    return asyncio.run(go())


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "severities"),
    [
        # (minutes, p99, ratio-minutes); worked out by hand from the scenario
        pytest.param(30 * MIN, ("OK", "OK", "OK"), id="baseline"),
        # 2 of the last 5 and of 60 minutes bad (SEV1); the mean of ratios: 0.4/30 > 6x budget
        pytest.param(62 * MIN, ("SEV1", "OK", "SEV2"), id="errors-2-minutes-in"),
        pytest.param(75 * MIN, ("SEV2", "OK", "SEV2"), id="errors-over"),
        pytest.param(103 * MIN, ("SEV3", "SEV1", "SEV3"), id="slowdown"),
        # the 5m window has no slice (no data), longer windows leave the quiet minutes out
        pytest.param(135 * MIN, ("SEV3", "SEV3", "SEV3"), id="no-traffic"),
        pytest.param(172 * MIN, ("SEV3", "SEV3", "SEV3"), id="three-percent-errors"),
        pytest.param(203 * MIN, ("SEV1", "SEV3", "SEV1"), id="outage"),
        pytest.param(4 * HOUR - MIN, ("SEV3", "SEV3", "SEV3"), id="end"),
    ],
)
def test_engine_reads_what_the_minutes_say(
    served: Served, tmp_path: Path, offset: int, severities: tuple[str, ...]
) -> None:
    slos = _slos(tmp_path)
    at = SCENARIO.at(offset) + 7  # off the sample grid
    evaluations = evaluate(served, slos, at)
    for slo, ev in zip(slos, evaluations, strict=True):
        assert ev.error == "", ev.error
        burn: dict[int, float | None] = {}
        for window in (*slo.window_seconds, slo.period_seconds):
            ratio = expected_ratio(served, slo.name, window, at)
            burn[window] = None if ratio is None else ratio / BUDGET
        assert set(ev.burn_rates) == set(slo.window_seconds)
        for window, rate in ev.burn_rates.items():
            want = burn[window]
            assert rate == (None if want is None else pytest.approx(want, rel=1e-9, abs=1e-12))
        period = burn[slo.period_seconds]
        assert period is not None
        assert ev.error_budget_remaining == pytest.approx(1 - period, rel=1e-9, abs=1e-12)
        assert ev.severity is expected_severity(burn), slo.name
    # by hand, per SLO in name order (minutes, p99, ratio-minutes): the computation's check
    assert tuple(str(ev.severity) for ev in evaluations) == severities


def test_good_slices_hide_small_errors_that_the_mean_of_ratios_counts(
    served: Served, tmp_path: Path
) -> None:
    """At 3 % errors a minute is still good for a 95 % slice target (Timeslices), while the mean
    of the slices' ratios (RatioTimeslices) counts every error."""
    minutes, _p99, ratio_minutes = evaluate(served, _slos(tmp_path), SCENARIO.at(172 * MIN) + 7)
    assert minutes.burn_rates[5 * MIN] == 0.0
    # 2 minutes at 3 % and 3 at 0.05 %, over 5 minutes, in budgets of 0.1 %
    assert ratio_minutes.burn_rates[5 * MIN] == pytest.approx((2 * 0.03 + 3 * 0.0005) / 5 / BUDGET)


def test_generated_rules_pass_promtool_and_record_the_minutes(
    served: Served, tmp_path: Path
) -> None:
    """``generate``'s rules for these SLOs pass ``promtool check rules``, and each window's
    recording rule, asked of Prometheus, gives the share of bad minutes counted here."""
    slos = _slos(tmp_path)
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(rule_groups(slos), "test"), encoding="utf-8")
    check = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    at = SCENARIO.at(203 * MIN) + 7
    asked: list[tuple[str, int, str]] = []
    for slo in slos:
        sli = [g for g in slo_rule_groups(slo) if "-sli-" in g.name]  # fast and other windows
        for rule in (r for g in sli for r in g.rules):
            window = parse_duration(rule.labels["sloth_window"])
            if window <= HOUR:
                asked.append((slo.name, window, rule.expr))

    async def go() -> list[float | None]:
        async with PrometheusClient(PrometheusConfig(url=served.url)) as client:
            answers = [await client.query(expr, at) for _, _, expr in asked]
        return [a[0].value if a else None for a in answers]

    got = asyncio.run(go())
    assert len(asked) == 9  # 5m, 30m and 1h of three SLOs
    for (name, window, _), value in zip(asked, got, strict=True):
        assert value == pytest.approx(expected_ratio(served, name, window, at), rel=1e-9), name
