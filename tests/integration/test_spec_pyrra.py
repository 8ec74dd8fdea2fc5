"""Pyrra ``pyrra.dev/v1alpha1`` ServiceLevelObjective import (issue 15)."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from sloguard.cli import main
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.rules import render_rules, rule_groups
from sloguard.spec import LoadResult, load

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
DAY = 86400

RATIO = """
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: prometheus-http-errors
  namespace: monitoring
  labels:
    prometheus: k8s
    role: alert-rules
    pyrra.dev/team: observability
spec:
  target: "99.95"
  window: 4w
  description: Prometheus' HTTP API answers without errors.
  indicator:
    ratio:
      errors:
        metric: prometheus_http_requests_total{job="prometheus",code=~"5.."}
      total:
        metric: prometheus_http_requests_total{job="prometheus"}
"""


def _load(tmp_path: Path, text: str) -> LoadResult:
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return load([path])


def _one(tmp_path: Path, text: str) -> SLO:
    result = _load(tmp_path, text)
    assert result.problems == [], [str(p) for p in result.problems]
    [slo] = result.slos
    return slo


def test_ratio_slo_imports_with_pyrras_names_labels_and_numbers(tmp_path: Path) -> None:
    slo = _one(tmp_path, RATIO)
    assert (slo.name, slo.service, slo.namespace) == (
        "prometheus-http-errors",
        "monitoring",
        "monitoring",
    )
    assert (slo.objective_percent, slo.period_seconds) == (99.95, 28 * DAY)
    assert dict(slo.labels) == {"team": "observability"}
    assert dict(slo.k8s_labels)["prometheus"] == "k8s"
    assert isinstance(slo.indicator, RatioIndicator)
    assert slo.indicator.errors == (
        'sum (rate(prometheus_http_requests_total{job="prometheus",code=~"5.."}[{{.window}}]))'
    )


def test_pyrra_windows_become_tiers_with_pyrras_burn_rates(tmp_path: Path) -> None:
    slo = _one(tmp_path, RATIO)
    got = [(t.severity, t.long, t.short, round(t.factor(slo.period_seconds), 9)) for t in slo.tiers]
    assert got == [
        (Severity.SEV1, "1h", "5m", 14),
        (Severity.SEV2, "6h", "30m", 7),
        (Severity.SEV3, "1d", "2h", 2),
        (Severity.SEV3, "4d", "6h", 1),
    ]


@pytest.mark.parametrize(
    ("indicator", "errors", "total", "group_by"),
    [
        pytest.param(
            """
    latency:
      success:
        metric: http_duration_seconds_bucket{job="api",le="0.5"}
      total:
        metric: http_duration_seconds_count{job="api"}
      grouping: [handler]
""",
            'sum by (handler) (rate(http_duration_seconds_count{job="api"}[{{.window}}]))\n-\n'
            "sum by (handler) "
            '(rate(http_duration_seconds_bucket{job="api",le="0.5"}[{{.window}}]))',
            'sum by (handler) (rate(http_duration_seconds_count{job="api"}[{{.window}}]))',
            ("handler",),
            id="latency-grouped",
        ),
        pytest.param(
            """
    bool_gauge:
      metric: probe_success{instance="shop"}
""",
            'sum (count_over_time(probe_success{instance="shop"}[{{.window}}]))\n-\n'
            'sum (sum_over_time(probe_success{instance="shop"}[{{.window}}]))',
            'sum (count_over_time(probe_success{instance="shop"}[{{.window}}]))',
            (),
            id="bool-gauge",
        ),
    ],
)
def test_latency_and_bool_gauge_become_ratios(
    tmp_path: Path, indicator: str, errors: str, total: str, group_by: tuple[str, ...]
) -> None:
    text = RATIO[: RATIO.index("    ratio:")] + textwrap.dedent(indicator).replace("\n", "\n    ")
    slo = _one(tmp_path, text)
    assert isinstance(slo.indicator, RatioIndicator)
    assert (slo.indicator.errors, slo.indicator.total, slo.group_by) == (errors, total, group_by)


def test_disabled_alerting_keeps_recordings_only(tmp_path: Path) -> None:
    slo = _one(tmp_path, RATIO + "  alerting:\n    disabled: true\n    name: PromErrors\n")
    assert slo.tiers == ()


@pytest.mark.parametrize(
    ("change", "line", "needle"),
    [
        pytest.param(
            (
                "    ratio:\n",
                '    latencyNative:\n      latency: "1"\n      total: {metric: rpc}\n    ratio_:\n',
            ),
            16,
            "'1' is not a duration",
            id="latency-native-latency",
        ),
        pytest.param(('target: "99.95"', "target: 0.999"), 11, "0.999 would mean", id="target-0-1"),
        pytest.param(("window: 4w", "window: 12h"), 12, "whole days", id="window-hours"),
        pytest.param(
            (
                '        metric: prometheus_http_requests_total{job="prometheus"}\n',
                "        query: up\n",
            ),
            19,
            "unknown field 'query'",
            id="query-not-metric",
        ),
    ],
)
def test_located_errors(tmp_path: Path, change: tuple[str, str], line: int, needle: str) -> None:
    result = _load(tmp_path, RATIO.replace(*change))
    assert result.slos == []
    assert any(p.location.line == line and needle in p.message for p in result.problems), [
        str(p) for p in result.problems
    ]


def test_import_writes_native_yaml(tmp_path: Path) -> None:
    path = tmp_path / "pyrra.yaml"
    path.write_text(textwrap.dedent(RATIO).lstrip(), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.stderr
    native = tmp_path / "native.yaml"
    native.write_text(result.stdout, encoding="utf-8")
    again = load([native])
    assert [(s.name, s.objective_percent, len(s.tiers)) for s in again.slos] == [
        ("prometheus-http-errors", 99.95, 4)
    ]


# Pyrra's own burn-rate recording rule for a ratio SLO (pyrra slo/rules.go, Burnrates):
# sum(rate(errors[w])) / sum(rate(total[w])), recorded as <metric>:burnrate<w> with slo=<name>.
PYRRA_RULES = """
groups:
  - name: prometheus-http-errors
    rules:
      - record: prometheus_http_requests:burnrate5m
        expr: >-
          sum(rate(prometheus_http_requests_total{code=~"5..",job="prometheus"}[5m]))
          / sum(rate(prometheus_http_requests_total{job="prometheus"}[5m]))
        labels: {slo: prometheus-http-errors}
      - record: prometheus_http_requests:burnrate1h
        expr: >-
          sum(rate(prometheus_http_requests_total{code=~"5..",job="prometheus"}[1h]))
          / sum(rate(prometheus_http_requests_total{job="prometheus"}[1h]))
        labels: {slo: prometheus-http-errors}
"""

PROMTOOL_TEST = """
rule_files: [sloguard.yml, pyrra.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'prometheus_http_requests_total{job="prometheus", code="200"}'
        values: '0+97x90'
      - series: 'prometheus_http_requests_total{job="prometheus", code="500"}'
        values: '0+3x90'
    promql_expr_test:
      - expr: max(slo:sli_error:ratio_rate5m) - max(prometheus_http_requests:burnrate5m)
        eval_time: 80m
        exp_samples: [{labels: '{}', value: 0}]
      - expr: max(slo:sli_error:ratio_rate1h) - max(prometheus_http_requests:burnrate1h)
        eval_time: 80m
        exp_samples: [{labels: '{}', value: 0}]
      - expr: max(slo:sli_error:ratio_rate1h)
        eval_time: 80m
        exp_samples: [{labels: '{}', value: 0.03}]
"""


@pytest.mark.prometheus
def test_sloguard_rules_equal_pyrras_burn_rates(tmp_path: Path) -> None:
    slo = _one(tmp_path, RATIO)
    (tmp_path / "sloguard.yml").write_text(render_rules(rule_groups([slo]), "t"), encoding="utf-8")
    (tmp_path / "pyrra.yml").write_text(PYRRA_RULES, encoding="utf-8")
    (tmp_path / "test.yml").write_text(PROMTOOL_TEST, encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_one_day_window_keeps_windows_of_at_least_a_minute(tmp_path: Path) -> None:
    slo = _one(tmp_path, RATIO.replace("window: 4w", "window: 1d"))
    assert [(t.long, t.short) for t in slo.tiers] == [
        ("2m", "1m"),
        ("13m", "1m"),
        ("51m", "4m"),
        ("3h26m", "13m"),
    ]
