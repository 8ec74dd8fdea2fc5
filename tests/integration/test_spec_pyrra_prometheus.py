"""Pyrra ratio and latency files evaluated against a real Prometheus (issue 15's proof).

The files are written as a Pyrra user commits them, over the metrics of the session's
``incidents`` scenario (checkout: 20 min of 100 % errors at 6 h; catalog: 20 % of requests
slower than 250 ms for 1 h at 2 h). At an instant before, during and after each incident,
every window's burn rate, the budget left and the severity equal an independent computation
from the generated samples, and every burn rate equals Pyrra's own recording-rule expression
(pyrra slo/rules.go, Burnrates) asked of the same Prometheus as an instant query.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import httpx
import pytest

from harness import scenarios as sc
from harness.promserver import DAY, HOUR
from sloguard.burn import Evaluation
from sloguard.durations import format_duration
from sloguard.engine import Engine
from sloguard.model import SLO, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.spec import load
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
MIN = 60
REQUESTS = 'http_requests_total{job="sloguard-test",service="checkout"'
HISTOGRAM = 'http_request_duration_seconds_{}{{job="sloguard-test",service="catalog"{}}}'
SUCCESS = HISTOGRAM.format("bucket", ',le="0.25"')
COUNT = HISTOGRAM.format("count", "")

PYRRA_RATIO = f"""
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: checkout-errors
  namespace: shop
spec:
  target: "99.9"
  window: 4w
  indicator:
    ratio:
      errors:
        metric: {REQUESTS},code=~"5.."}}
      total:
        metric: {REQUESTS}}}
"""

PYRRA_LATENCY = f"""
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: catalog-latency
  namespace: shop
spec:
  target: "99"
  window: 4w
  indicator:
    latency:
      success:
        metric: {SUCCESS}
      total:
        metric: {COUNT}
"""

# Pyrra's burn-rate windows for a 4w window and their factors (severity, long, short, factor)
PYRRA_TIERS = (
    (Severity.SEV1, HOUR, 5 * MIN, 14.0),
    (Severity.SEV2, 6 * HOUR, 30 * MIN, 7.0),
    (Severity.SEV3, DAY, 2 * HOUR, 2.0),
    (Severity.SEV3, 4 * DAY, 6 * HOUR, 1.0),
)


def _pyrra_slo(tmp_path: Path, text: str) -> SLO:
    path = tmp_path / "pyrra.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = load([path])
    assert result.problems == [], [str(p) for p in result.problems]
    [slo] = result.slos
    return slo


def _evaluate(served: Served, slo: SLO, at: float) -> Evaluation:
    async def go() -> list[Evaluation]:
        async with PrometheusClient(PrometheusConfig(url=served.url)) as client:
            return await Engine().evaluate_all([slo], client, at, recorded=False)

    [ev] = asyncio.run(go())
    assert ev.error == ""
    return ev


def _instant(served: Served, query: str, at: float) -> float:
    """The single value of an instant query at ``at``."""
    response = httpx.get(f"{served.url}/api/v1/query", params={"query": query, "time": at})
    [row] = response.json()["data"]["result"]
    return float(row["value"][1])


def _severity(burn_rates: dict[int, float]) -> Severity:
    """Pyrra's multiwindow rule: a tier fires when both of its windows burn above its factor."""
    firing = [
        s for s, long, short, f in PYRRA_TIERS if min(burn_rates[long], burn_rates[short]) > f
    ]
    return max(firing, default=Severity.OK)


def _ratio_truth(served: Served, window_seconds: int, at: float) -> float:
    ratio = served.data.error_ratio("checkout", window_seconds, at)
    assert ratio is not None
    return ratio


def _latency_truth(served: Served, window_seconds: int, at: float) -> float:
    ratio = served.data.latency_ratio("catalog", 0.25, window_seconds, at)
    assert ratio is not None
    return ratio


def _pyrra_ratio_rule(window: str) -> str:
    """Pyrra's burn-rate expression of a ratio indicator."""
    errors, total = f'{REQUESTS},code=~"5.."}}', f"{REQUESTS}}}"
    return f"sum(rate({errors}[{window}])) / sum(rate({total}[{window}]))"


def _pyrra_latency_rule(window: str) -> str:
    """Pyrra's burn-rate expression of a latency indicator: (total - success) / total."""
    total = f"sum(rate({COUNT}[{window}]))"
    success = f"sum(rate({SUCCESS}[{window}]))"
    return f"({total} - {success}) / {total}"


CASES = [
    pytest.param("ratio", sc.OUTAGE_START - HOUR + 7, Severity.OK, id="ratio-healthy"),
    pytest.param("ratio", sc.OUTAGE_START + 10 * MIN + 7, Severity.SEV1, id="ratio-in-outage"),
    # 40 min after the outage: the 5m and 30m windows are clear, the 2h one still burns
    pytest.param("ratio", sc.OUTAGE_END + 40 * MIN + 7, Severity.SEV3, id="ratio-after-outage"),
    pytest.param("latency", sc.SLOW_START - 10 * MIN + 7, Severity.OK, id="latency-healthy"),
    pytest.param("latency", sc.SLOW_START + 50 * MIN + 7, Severity.SEV1, id="latency-slow"),
]


@pytest.mark.parametrize(("kind", "offset", "severity"), CASES)
def test_pyrra_file_on_prometheus_equals_the_samples_and_pyrras_rules(
    incidents: Served, tmp_path: Path, kind: str, offset: int, severity: Severity
) -> None:
    text, truth, rule = (
        (PYRRA_RATIO, _ratio_truth, _pyrra_ratio_rule)
        if kind == "ratio"
        else (PYRRA_LATENCY, _latency_truth, _pyrra_latency_rule)
    )
    slo = _pyrra_slo(tmp_path, text)
    at = incidents.scenario.at(offset)
    ev = _evaluate(incidents, slo, at)
    windows = sorted({w for _, long, short, _ in PYRRA_TIERS for w in (long, short)})
    assert sorted(ev.burn_rates) == windows
    burn_rates: dict[int, float] = {}
    for window in windows:
        name = format_duration(window)
        got = ev.burn_rates[window]
        assert got is not None, name
        expected = truth(incidents, window, at) / slo.budget
        assert got == pytest.approx(expected, rel=1e-9), name
        pyrra = _instant(incidents, rule(name), at)
        assert got * slo.budget == pytest.approx(pyrra, rel=1e-9), name
        burn_rates[window] = expected
    assert ev.severity is severity is _severity(burn_rates)
    spent = truth(incidents, 28 * DAY, at) / slo.budget
    assert ev.error_budget_remaining == pytest.approx(1 - spent, rel=1e-9)
