"""Sloth and OpenSLO files as teams commit them (issue 15): what import used to drop or refuse."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sloguard.cli import main
from sloguard.model import Severity
from sloguard.spec import load


def _write(tmp_path: Path, text: str, name: str = "slo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _import(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["import", *args])
    return result.exit_code, result.stdout, result.stderr


# --- bug 8: import with nothing to import says what it found --------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param(
            """
            apiVersion: sloth.slok.dev/v1
            kind: AlertWindows
            metadata: {name: w}
            spec: {}
            """,
            "1 sloth.slok.dev/v1 AlertWindows",
            id="sloth-alert-windows",
        ),
        pytest.param(
            """
            apiVersion: openslo/v1
            kind: DataSource
            metadata: {name: prom}
            spec: {type: Prometheus}
            """,
            "1 openslo/v1 DataSource",
            id="openslo-datasource",
        ),
        pytest.param("# nothing here\n", "no YAML documents", id="empty-file"),
    ],
)
def test_import_of_nothing_says_what_it_found(tmp_path: Path, text: str, found: str) -> None:
    path = _write(tmp_path, text)
    code, out, err = _import(str(path))
    assert code == 1
    assert out == ""
    assert "nothing to import" in err
    assert found in err


def test_import_of_an_empty_directory_says_so(tmp_path: Path) -> None:
    code, _, err = _import(str(tmp_path))
    assert code == 1
    assert "nothing to import: no *.yaml or *.yml files" in err


# --- bug 3: OpenSLO v1alpha without timeWindows is Sloth's 30 days ---------------------------

V1ALPHA_NO_WINDOW = """
apiVersion: openslo/v1alpha
kind: SLO
metadata:
  name: availability
  displayName: Availability
spec:
  service: checkout
  description: Checkout answers
  budgetingMethod: Occurrences
  objectives:
    - ratioMetrics:
        good:
          source: prometheus
          queryType: promql
          query: sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))
        total:
          source: prometheus
          queryType: promql
          query: sum(rate(http_requests_total[{{.window}}]))
      target: 0.999
"""


def test_openslo_v1alpha_without_time_windows_is_30_days(tmp_path: Path) -> None:
    result = load([_write(tmp_path, V1ALPHA_NO_WINDOW)])
    assert result.problems == []
    [slo] = result.slos
    assert (slo.name, slo.period_seconds, slo.objective_percent) == (
        "checkout-availability-0",
        30 * 86400,
        99.9,
    )


# --- bug 5: OpenSLO metricSource.spec without query -------------------------------------------

V1_PROMQL_STYLE = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: checkout
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 28d
      isRolling: true
  indicator:
    metadata:
      name: latency-sli
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              promql: sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total[{{.window}}]))
  objectives:
    - target: 0.99
"""


def test_openslo_metric_source_without_query_names_query_and_what_is_there(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, V1_PROMQL_STYLE)
    result = load([path])
    assert result.slos == []
    [problem] = result.problems
    assert (problem.location.line, problem.location.column) == (20, 13)
    assert "query" in problem.message
    assert "missing" in problem.message
    assert "promql" in problem.message
    assert "parse" not in problem.message.lower()


def test_openslo_v1alpha_ratio_without_query_is_located(tmp_path: Path) -> None:
    good = "          query: sum(rate(http_requests_total{code"
    text = V1ALPHA_NO_WINDOW.replace(good, good.replace("query:", "promql:"))
    result = load([_write(tmp_path, text)])
    missing, unknown = result.problems  # the missing key, and the key that is there instead
    assert missing.location.line == 12
    assert "'query' is missing" in missing.message
    assert "promql" in missing.message
    assert unknown.location.line == 15
    assert "unknown field 'promql'" in unknown.message


# --- bug 4: per-alert annotations ---------------------------------------------------------

SLOTH_PER_ALERT = """
version: prometheus/v1
service: checkout
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      page_alert:
        labels:
          routing_key: checkout
        annotations:
          runbook: https://runbooks.example.com/checkout
          summary: Checkout fails
      ticket_alert:
        annotations:
          dashboard_url: https://grafana.example.com/d/checkout
"""


def test_sloth_page_alert_runbook_becomes_the_runbook_url(tmp_path: Path) -> None:
    result = load([_write(tmp_path, SLOTH_PER_ALERT)])
    assert result.problems == []
    [slo] = result.slos
    assert slo.runbook_url == "https://runbooks.example.com/checkout"
    assert slo.dashboard_url == "https://grafana.example.com/d/checkout"


def test_sloth_per_alert_annotations_are_carried_not_warned(tmp_path: Path) -> None:
    result = load([_write(tmp_path, SLOTH_PER_ALERT)])
    assert result.warnings == [], [str(w) for w in result.warnings]
    [slo] = result.slos
    assert slo.alerts.annotations_for(Severity.SEV1)["summary"] == "Checkout fails"
    assert dict(slo.alerts.page_labels) == {"routing_key": "checkout"}


def test_sloth_conflicting_runbooks_keep_the_page_one_and_warn(tmp_path: Path) -> None:
    text = SLOTH_PER_ALERT.replace(
        "dashboard_url: https://grafana.example.com/d/checkout",
        "runbook_url: https://runbooks.example.com/tickets",
    )
    result = load([_write(tmp_path, text)])
    [slo] = result.slos
    assert slo.runbook_url == "https://runbooks.example.com/checkout"
    [conflict] = [w for w in result.warnings if "runbooks.example.com/tickets" in w.message]
    assert conflict.location.line == 20


# --- bug 2: Sloth CRD namespace and labels --------------------------------------------------

SLOTH_CRD = """
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: checkout-slos
  namespace: monitoring
  labels:
    release: kube-prometheus-stack
    app.kubernetes.io/part-of: checkout
spec:
  service: checkout
  labels:
    team: payments
  slos:
    - name: requests-availability
      objective: 99.9
      sli:
        events:
          errorQuery: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
          totalQuery: sum(rate(http_requests_total[{{.window}}]))
      alerting:
        pageAlert: {disable: true}
        ticketAlert: {disable: true}
"""


def test_sloth_crd_namespace_and_labels_are_carried(tmp_path: Path) -> None:
    result = load([_write(tmp_path, SLOTH_CRD)])
    assert result.problems == []
    [slo] = result.slos
    assert slo.namespace == "monitoring"
    assert dict(slo.k8s_labels) == {
        "release": "kube-prometheus-stack",
        "app.kubernetes.io/part-of": "checkout",
    }
    assert dict(slo.labels) == {"team": "payments"}  # series labels stay the SLO's own


def test_sloth_crd_namespace_and_labels_survive_import(tmp_path: Path) -> None:
    code, out, _ = _import(str(_write(tmp_path, SLOTH_CRD)))
    assert code == 0
    [doc] = yaml.safe_load_all(out)
    assert doc["metadata"]["namespace"] == "monitoring"
    assert doc["metadata"]["k8s_labels"]["release"] == "kube-prometheus-stack"
    again = load([_write(tmp_path, out, "native.yaml")])
    assert [s.namespace for s in again.slos] == ["monitoring"]


def test_prometheusrule_takes_the_slos_namespace_and_labels(tmp_path: Path) -> None:
    path = _write(tmp_path, SLOTH_CRD)
    out = tmp_path / "rules"
    result = CliRunner().invoke(
        main, ["generate", str(path), "-o", str(out), "--format", "prometheusrule"]
    )
    assert result.exit_code == 0, result.stderr
    [manifest] = out.glob("*.yaml")
    meta = yaml.safe_load(manifest.read_text(encoding="utf-8"))["metadata"]
    assert meta["namespace"] == "monitoring"
    assert meta["labels"]["release"] == "kube-prometheus-stack"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "sloguard"


def test_prometheusrule_options_override_the_slos(tmp_path: Path) -> None:
    path = _write(tmp_path, SLOTH_CRD)
    out = tmp_path / "rules"
    args = ["generate", str(path), "-o", str(out), "--format", "prometheusrule"]
    args += ["--namespace", "obs", "--k8s-label", "release=prom"]
    assert CliRunner().invoke(main, args).exit_code == 0
    [manifest] = out.glob("*.yaml")
    meta = yaml.safe_load(manifest.read_text(encoding="utf-8"))["metadata"]
    assert (meta["namespace"], meta["labels"]["release"]) == ("obs", "prom")


# --- bug 6: every problem of a document in one run ---------------------------------------------

SLOTH_FOUR_PROBLEMS = """
version: prometheus/v1
service: checkout
slos:
  - name: requests-availability
    objectiv: 99.9
    objective: 100
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}])
        total_query: sum(rate(http_requests_total[5m]))
    alerting:
      page_alert: {}
"""


def test_sloth_document_reports_every_problem_at_once(tmp_path: Path) -> None:
    result = load([_write(tmp_path, SLOTH_FOUR_PROBLEMS)])
    found = sorted((p.location.line, p.message.split(";")[0][:40]) for p in result.problems)
    lines = [line for line, _ in found]
    assert lines == [5, 6, 9, 10, 11], found  # typo, objective, PromQL, placeholder, alert name


NATIVE_TWO_PROBLEMS = """
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  objectve: 99.9
  indicator:
    ratio:
      errors: sum(rate(e[{{.window}}])
      total: sum(rate(t[{{.window}}]))
"""


def test_native_document_reports_schema_and_query_problems_together(tmp_path: Path) -> None:
    result = load([_write(tmp_path, NATIVE_TWO_PROBLEMS)])
    lines = sorted(p.location.line for p in result.problems)
    assert lines == [7, 10], [str(p) for p in result.problems]


OPENSLO_THREE_PROBLEMS = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: checkout
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 1M
      isRolling: true
  indicator:
    metadata: {name: sli}
    spec:
      ratioMetric:
        good:
          metricSource:
            type: Prometheus
            spec: {promql: up}
        total:
          metricSource:
            type: Prometheus
            spec: {query: "sum(rate(t[{{.window}}]))"}
  objectives:
    - targetPercent: 99
      op: lte
"""


def test_openslo_document_reports_every_problem_at_once(tmp_path: Path) -> None:
    result = load([_write(tmp_path, OPENSLO_THREE_PROBLEMS)])
    lines = sorted(p.location.line for p in result.problems)
    assert lines == [9, 18, 25], [str(p) for p in result.problems]


# --- list-valued OpenSLO labels ----------------------------------------------------------------


def test_openslo_list_labels_become_comma_joined_strings(tmp_path: Path) -> None:
    text = V1_PROMQL_STYLE.replace(
        "metadata:\n  name: latency\n",
        "metadata:\n  name: latency\n  labels:\n    team: [payments, checkout]\n    tier: [gold]\n",
    ).replace("promql: sum(rate(http", "query: sum(rate(http")
    result = load([_write(tmp_path, text)])
    assert result.problems == [], [str(p) for p in result.problems]
    [slo] = result.slos
    assert dict(slo.labels) == {"team": "payments,checkout", "tier": "gold"}
    [warning] = [w for w in result.warnings if "team" in w.message]
    assert warning.location.line == 6
    assert "payments,checkout" in warning.message
