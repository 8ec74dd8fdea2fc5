"""Sloth SLIs aggregated ``by (label)`` (issue 15, bug 1): import carries the grouping, and the
generated rules keep every group's ratio (a healthy group's is 0, not absent)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness import scenarios
from sloguard.burn import Evaluation
from sloguard.engine import Engine
from sloguard.model import Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.rules import render_rules, rule_groups
from sloguard.spec import load

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

SLOTH_GROUPED = """
version: prometheus/v1
service: ingress
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(nginx_requests{status=~"5.."}[{{.window}}])) by (host)
        total_query: sum(rate(nginx_requests[{{.window}}])) by (host)
    alerting:
      name: IngressAvailability
"""


def _load(tmp_path: Path, text: str) -> list:  # type: ignore[type-arg]
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = load([path])
    assert result.problems == [], [str(p) for p in result.problems]
    return result.slos


@pytest.mark.parametrize(
    ("errors", "total", "group_by"),
    [
        pytest.param(
            "sum(rate(e[{{.window}}])) by (host)",
            "sum(rate(t[{{.window}}])) by (host)",
            ("host",),
            id="by-after",
        ),
        pytest.param(
            "sum by (host, path) (rate(e[{{.window}}]))",
            "sum by (host, path) (rate(t[{{.window}}]))",
            ("host", "path"),
            id="by-before",
        ),
        pytest.param(
            "sum(rate(e[{{.window}}])) by (host, code)",
            "sum(rate(t[{{.window}}])) by (host)",
            (),
            id="grouped-differently-is-not-guessed",
        ),
        pytest.param("sum(rate(e[{{.window}}]))", "sum(rate(t[{{.window}}]))", (), id="ungrouped"),
    ],
)
def test_sloth_import_carries_the_queries_grouping(
    tmp_path: Path, errors: str, total: str, group_by: tuple[str, ...]
) -> None:
    text = SLOTH_GROUPED.replace(
        'sum(rate(nginx_requests{status=~"5.."}[{{.window}}])) by (host)', errors
    ).replace("sum(rate(nginx_requests[{{.window}}])) by (host)", total)
    [slo] = _load(tmp_path, text)
    assert slo.group_by == group_by


def test_sloth_raw_grouped_query_carries_grouping(tmp_path: Path) -> None:
    text = SLOTH_GROUPED.replace(
        """      events:
        error_query: sum(rate(nginx_requests{status=~"5.."}[{{.window}}])) by (host)
        total_query: sum(rate(nginx_requests[{{.window}}])) by (host)""",
        """      raw:
        error_ratio_query: |
          sum(rate(e[{{.window}}])) by (host)
          /
          sum(rate(t[{{.window}}])) by (host)""",
    )
    [slo] = _load(tmp_path, text)
    assert slo.group_by == ("host",)


TEST = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'nginx_requests{host="a", status="200"}'
        values: '0+60x30'
      - series: 'nginx_requests{host="a", status="500"}'
        values: '0+60x30'
      - series: 'nginx_requests{host="b", status="200"}'
        values: '0+60x30'
    promql_expr_test:
      - expr: max by (host, sloth_id) (slo:sli_error:ratio_rate5m)
        eval_time: 20m
        exp_samples:
          - labels: '{host="a", sloth_id="ingress-availability"}'
            value: 0.5
          - labels: '{host="b", sloth_id="ingress-availability"}'
            value: 0
      - expr: count by (host, severity) (ALERTS{alertstate="firing"})
        eval_time: 20m
        exp_samples:
          - labels: '{host="a", severity="SEV1"}'
            value: 1
          - labels: '{host="a", severity="SEV2"}'
            value: 1
          - labels: '{host="a", severity="SEV3"}'
            value: 1
"""


@pytest.mark.prometheus
def test_healthy_group_keeps_a_zero_ratio_while_another_burns(tmp_path: Path) -> None:
    slos = _load(tmp_path, SLOTH_GROUPED)
    (tmp_path / "rules.yml").write_text(render_rules(rule_groups(slos), "test"), encoding="utf-8")
    (tmp_path / "test.yml").write_text(TEST, encoding="utf-8")
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


OPENSLO_GROUPED = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: ingress
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 28d
      isRolling: true
  indicator:
    metadata: {name: sli}
    spec:
      ratioMetric:
        good:
          metricSource:
            type: Prometheus
            spec: {query: 'sum by (host) (rate(r{code!~"5.."}[{{.window}}]))'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: "sum by (host) (rate(r[{{.window}}]))"}
  objectives:
    - target: 0.99
"""


def test_openslo_grouped_queries_carry_grouping(tmp_path: Path) -> None:
    [slo] = _load(tmp_path, OPENSLO_GROUPED)
    assert slo.group_by == ("host",)


SLOTH_BY_SERVICE = """
version: prometheus/v1
service: shop
slos:
  - name: http
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{JOB,code=~"5.."}[{{.window}}])) by (service)
        total_query: sum(rate(http_requests_total{JOB}[{{.window}}])) by (service)
    alerting:
      name: ShopAvailability
"""


@pytest.mark.prometheus
def test_imported_grouped_sloth_slo_evaluates_each_group_on_real_prometheus(
    tmp_path: Path, incidents: Any
) -> None:
    """Checkout burns (100 % errors) while catalog stays healthy: each gets its own severity,
    and the healthy group's burn rate is 0, not missing."""
    s = incidents.scenario
    [slo] = _load(tmp_path, SLOTH_BY_SERVICE.replace("JOB", f'job="{s.job}"'))
    assert slo.group_by == ("service",)
    at = s.at(scenarios.OUTAGE_START + 600) + 7

    async def go() -> list[Evaluation]:
        async with PrometheusClient(PrometheusConfig(url=incidents.url)) as client:
            return await Engine().evaluate_all([slo], client, at)

    by_group = {e.slo: e for e in asyncio.run(go())}
    checkout = by_group['shop-http{service="checkout"}']
    catalog = by_group['shop-http{service="catalog"}']
    assert checkout.error == ""
    assert checkout.severity is Severity.SEV1
    assert catalog.severity is not Severity.SEV1
    assert catalog.burn_rates[300] is not None
