"""Pyrra's native-histogram latency SLIs and absent alerts (issue 15).

``latencyNative`` is evaluated on a real Prometheus fed native histograms over remote write
(backfill cannot write them): sloguard's burn rates equal both an independent computation
from the written bucket counts and Pyrra's own expression ``1 - histogram_fraction(0, <le>,
sum(rate(...)))`` on the same data. Absent alerts are checked with ``promtool test rules``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.nativehist import FLAGS, Histogram, remote_write
from harness.promserver import PrometheusServer, start_prometheus
from sloguard.burn import Evaluation
from sloguard.engine import Engine
from sloguard.model import SLO, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.rules import ERRORS, TOTAL, render_rules, rule_groups
from sloguard.spec import load

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
T0 = 1_704_067_200
STEP = 60
# Per-minute increments of the schema-0 buckets (0.125,0.25], (0.25,0.5], (0.5,1], (1,2]:
# method="get" has 10 % slower than 0.5 s for 100 minutes, then 70 % for 20 minutes;
# method="put" stays at 2 %.
CALM, SLOW, STEADY = (30, 60, 8, 2), (10, 20, 40, 30), (50, 48, 1, 1)
MINUTES = 120

NATIVE = """
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: rpc-latency
  namespace: api
spec:
  target: "95"
  window: 4w
  indicator:
    latencyNative:
      latency: 500ms
      total:
        metric: rpc_seconds{job="api"}
      grouping: [method]
"""


def _increments(method: str, minute: int) -> tuple[int, ...]:
    if method == "put":
        return STEADY
    return CALM if minute <= 100 else SLOW


def _samples(method: str) -> list[Histogram]:
    counts = [0, 0, 0, 0]
    out = []
    for k in range(MINUTES + 1):
        if k:
            counts = [c + i for c, i in zip(counts, _increments(method, k), strict=True)]
        out.append(Histogram((T0 + STEP * k) * 1000, -2, tuple(counts), float(k)))
    return out


def expected_ratio(method: str, window_seconds: int, at: float) -> float:
    """Slower than 0.5 s / all, from the increments between the window's first and last sample
    (rate()'s extrapolation scales every bucket alike, so it cancels in the fraction)."""
    first = next(k for k in range(MINUTES + 1) if T0 + STEP * k >= at - window_seconds)
    last = max(k for k in range(MINUTES + 1) if T0 + STEP * k <= at)
    steps = range(first + 1, last + 1)
    slow = sum(sum(_increments(method, k)[2:]) for k in steps)
    return slow / sum(sum(_increments(method, k)) for k in steps)


@pytest.fixture(scope="module")
def native_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    work = tmp_path_factory.mktemp("native")
    (work / "data").mkdir()
    server = start_prometheus(work / "data", work, extra_args=FLAGS, owns_workdir=False)
    try:
        remote_write(
            server.url,
            [
                ({"__name__": "rpc_seconds", "job": "api", "method": m}, _samples(m))
                for m in ("get", "put")
            ],
        )
        yield server
    finally:
        server.stop()


def _slo(tmp_path: Path, text: str) -> SLO:
    path = tmp_path / "pyrra.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = load([path])
    assert result.problems == [], [str(p) for p in result.problems]
    [slo] = result.slos
    return slo


def _query(url: str, query: str, at: float) -> dict[str, float]:
    """An instant query's value per ``method``."""
    body = httpx.get(f"{url}/api/v1/query", params={"query": query, "time": at}).json()
    return {r["metric"]["method"]: float(r["value"][1]) for r in body["data"]["result"]}


def _pyrra(url: str, window: str, at: float) -> dict[str, float]:
    """Pyrra's burn-rate expression for latencyNative (slo/rules.go, Burnrate), per method."""
    rate = f'sum by (method) (rate(rpc_seconds{{job="api"}}[{window}]))'
    return _query(url, f"1 - histogram_fraction(0, 0.5, {rate})", at)


AT = T0 + STEP * MINUTES + 7
WINDOWS = {300: "5m", 1800: "30m", 3600: "1h", 7200: "2h"}  # inside the data


@pytest.mark.prometheus
def test_native_latency_burn_rates_equal_pyrra_and_the_bucket_counts(
    tmp_path: Path, native_prometheus: PrometheusServer
) -> None:
    slo = _slo(tmp_path, NATIVE)
    assert slo.group_by == ("method",)

    async def go() -> list[Evaluation]:
        async with PrometheusClient(PrometheusConfig(url=native_prometheus.url)) as client:
            return await Engine().evaluate_all([slo], client, AT)

    by_method = {e.labels["method"]: e for e in asyncio.run(go())}
    assert set(by_method) == {"get", "put"}
    pyrra = {seconds: _pyrra(native_prometheus.url, w, AT) for seconds, w in WINDOWS.items()}
    for method, evaluation in by_method.items():
        assert evaluation.error == ""
        for seconds, burn in evaluation.burn_rates.items():
            ratio = expected_ratio(method, seconds, AT)
            assert burn is not None, seconds
            assert burn == pytest.approx(ratio / slo.budget, rel=1e-9), (method, seconds)
            if seconds in pyrra:
                assert burn * slo.budget == pytest.approx(pyrra[seconds][method], abs=1e-12)
    # get: 5m burns 14x but 1h only 6.07x (no SEV1); 30m 10.3x but 6h 4x (no SEV2); 2h and 1d
    # 4x > 2x: SEV3. put: 0.4x everywhere.
    assert by_method["get"].severity is Severity.SEV3
    assert by_method["put"].severity is Severity.OK


@pytest.mark.prometheus
def test_generated_recording_rules_equal_pyrras_expression(
    tmp_path: Path, native_prometheus: PrometheusServer
) -> None:
    """The generated rules' error and total rates, queried as written, give Pyrra's ratio."""
    slo = _slo(tmp_path, NATIVE)
    rules = {r.record: r.expr for g in rule_groups([slo]) for r in g.rules if r.record}
    for window in WINDOWS.values():
        total = _query(native_prometheus.url, rules[f"{TOTAL}{window}"], AT)
        errors = _query(native_prometheus.url, rules[f"{ERRORS}{window}"], AT)
        pyrra = _pyrra(native_prometheus.url, window, AT)
        assert set(total) == set(errors) == set(pyrra) == {"get", "put"}
        for method, expected in pyrra.items():
            assert errors[method] / total[method] == pytest.approx(expected, abs=1e-12)


@pytest.mark.prometheus
def test_native_latency_rules_pass_promtool(tmp_path: Path) -> None:
    slo = _slo(tmp_path, NATIVE)
    assert slo.alerts.absent is None  # Pyrra writes no absent alert for latencyNative
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(rule_groups([slo]), "t"), encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


RATIO = """
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: http-errors
  namespace: api
spec:
  target: "99.95"
  window: 4w
  indicator:
    ratio:
      errors:
        metric: http_errors_total{job="api"}
      total:
        metric: http_requests_total{job="api"}
  alerting:
    absentName: ApiMetricsAbsent
"""

# The errors series never appears: the absent alert is pending for its `for` (Pyrra's 2m for
# 99.95 % over 4w: 14 x 0.0005 x 1h = 25s, plus the 2m `for` of the fastest tier), then fires.
ABSENT_TEST = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{job="api"}'
        values: '0+100x30'
    alert_rule_test:
      - alertname: ApiMetricsAbsent
        eval_time: 1m
        exp_alerts: []
      - alertname: ApiMetricsAbsent
        eval_time: 3m
        exp_alerts:
          - exp_labels:
              job: api
              severity: critical
              sloth_id: api-http-errors
              sloth_service: api
              sloth_slo: http-errors
            exp_annotations:
              summary: "api http-errors: a series the SLO reads is absent"
              description: >-
                SLO http-errors of api reads a series that is absent (for 2m):
                its burn rates cannot be computed.
"""


@pytest.mark.prometheus
def test_pyrra_absent_alert_fires_when_a_series_is_missing(tmp_path: Path) -> None:
    slo = _slo(tmp_path, RATIO)
    assert slo.alerts.absent is not None
    assert slo.alerts.absent.selectors == (
        'http_requests_total{job="api"}',
        'http_errors_total{job="api"}',
    )
    (tmp_path / "rules.yml").write_text(render_rules(rule_groups([slo]), "t"), encoding="utf-8")
    (tmp_path / "test.yml").write_text(ABSENT_TEST, encoding="utf-8")
    for cmd in (["check", "rules", "rules.yml"], ["test", "rules", "test.yml"]):
        proc = subprocess.run(
            [PROMTOOL, *cmd], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("alerting", "absent"),
    [
        pytest.param("  alerting:\n    absent: false\n", False, id="absent-false"),
        pytest.param("  alerting:\n    disabled: true\n", True, id="disabled-keeps-absent"),
        pytest.param("", True, id="default-on"),
    ],
)
def test_absent_follows_pyrras_switches(tmp_path: Path, alerting: str, absent: bool) -> None:
    text = RATIO[: RATIO.index("  alerting:")] + alerting
    slo = _slo(tmp_path, text)
    assert (slo.alerts.absent is not None) is absent


@pytest.mark.parametrize(
    ("severities", "page", "ticket", "absent", "warned"),
    [
        pytest.param("", None, None, "critical", False, id="none-given"),
        pytest.param(
            "{fastBurn: P1, mediumBurn: P1, slowBurn: P3, longTermBurn: P3, absent: P2}",
            "P1",
            "P3",
            "P2",
            False,
            id="all-given",
        ),
        pytest.param("{slowBurn: info}", None, "info", "critical", True, id="pair-differs"),
    ],
)
def test_pyrra_severities_label_the_page_ticket_and_absent_alerts(
    tmp_path: Path,
    severities: str,
    page: str | None,
    ticket: str | None,
    absent: str,
    warned: bool,
) -> None:
    text = RATIO + (f"    severities: {severities}\n" if severities else "")
    path = tmp_path / "pyrra.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = load([path])
    assert result.problems == []
    [slo] = result.slos
    assert slo.alerts.page_labels.get("severity") == page
    assert slo.alerts.ticket_labels.get("severity") == ticket
    assert slo.alerts.absent is not None
    assert slo.alerts.absent.labels["severity"] == absent
    assert bool([w for w in result.warnings if "longTermBurn" in w.message]) is warned
