"""The Grafana dashboard deploy/grafana/sloguard.json: it loads, every query parses, and every
metric it reads is one sloguard exports (issue 5's list) or `sloguard generate` records."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from harness.process import free_port

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "sloguard.json"

# The daemon's metrics, as issue 5 names them (the contract with the metrics module).
SLOGUARD_METRICS = {
    "sloguard_slo_burn_rate",
    "sloguard_slo_error_budget_remaining_ratio",
    "sloguard_slo_severity",
    "sloguard_slo_objective_ratio",
    "sloguard_slo_time_to_exhaustion_seconds",
    "sloguard_evaluation_duration_seconds",  # histogram
    "sloguard_evaluations_total",
    "sloguard_prometheus_up",
    "sloguard_notifications_total",
    "sloguard_outbox_pending",
    "sloguard_outbox_dead_letters",
    "sloguard_config_reload_success",
    "sloguard_last_successful_evaluation_timestamp_seconds",
    "sloguard_build_info",
}
HISTOGRAMS = {"sloguard_evaluation_duration_seconds"}
# The Sloth-compatible recording rules of `sloguard generate` (issue 6), per window and meta.
RULE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d", "30d")
RECORDING_RULES = {f"slo:sli_error:ratio_rate{w}" for w in RULE_WINDOWS} | {
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:time_period:days",
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
    "sloth_slo_info",
}
ALLOWED = (
    {m for m in SLOGUARD_METRICS if m not in HISTOGRAMS}
    | {f"{h}_{suffix}" for h in HISTOGRAMS for suffix in ("bucket", "sum", "count")}
    | RECORDING_RULES
    | {"ALERTS"}  # Prometheus' own series of the generated alert rules
)

# What Grafana substitutes before the query reaches Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "2m",
    "$__interval": "1m",
    "$__range": "1h",
    "${datasource}": "prometheus",
}
DASHBOARD_VARIABLES = ("job", "service", "slo", "datasource")


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return data


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target, annotation and variable query."""
    for panel in all_panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target['refId']}", target["expr"]
    for annotation in dashboard["annotations"]["list"]:
        if "expr" in annotation:
            yield f"annotation {annotation['name']!r}", annotation["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), *(\w+)\)", variable["query"]["query"])
            assert match, f"variable {variable['name']}: unexpected query form"
            yield f"variable {variable['name']!r}", match.group(1)


def substitute(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    for name in DASHBOARD_VARIABLES:
        expr = expr.replace(f"${{{name}}}", "x").replace(f"${name}", "x")
    return expr


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"selector without a metric name in {expr!r}"
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


QUERIES = [pytest.param(expr, id=where) for where, expr in queries(load())]


def test_dashboard_is_valid_grafana_json() -> None:
    dashboard = load()
    assert dashboard["uid"] == "sloguard-burn"
    assert dashboard["schemaVersion"] >= 36
    panels = list(all_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']} is wider than the grid"
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"], f"{panel['title']} has no query"
            assert panel.get("description"), f"{panel['title']} has no description"


def test_template_variables_for_slo_and_service() -> None:
    variables = {v["name"]: v for v in load()["templating"]["list"]}
    assert set(variables) == set(DASHBOARD_VARIABLES)
    assert variables["slo"]["multi"] is True
    assert "$service" in variables["slo"]["query"]["query"]
    assert variables["service"]["includeAll"] is True
    repeated = [p for p in load()["panels"] if p.get("repeat")]
    assert [p["repeat"] for p in repeated] == ["slo"], "one row per selected SLO"


@pytest.mark.parametrize("expr", QUERIES)
def test_every_query_parses(expr: str) -> None:
    try:
        promql_parser.parse(substitute(expr))
    except ValueError as exc:
        pytest.fail(f"{expr!r} does not parse: {exc}")


@pytest.mark.parametrize("expr", QUERIES)
def test_every_metric_is_exported_or_recorded(expr: str) -> None:
    unknown = metric_names(substitute(expr)) - ALLOWED
    assert not unknown, f"{unknown} is neither a sloguard metric nor a generated recording rule"


@pytest.mark.parametrize("expr", QUERIES)
def test_every_variable_used_is_defined(expr: str) -> None:
    used = set(re.findall(r"\$\{?(\w+)\}?", expr))
    grafana_builtin = {name.strip("${}") for name in GRAFANA_VARIABLES}
    assert used <= set(DASHBOARD_VARIABLES) | grafana_builtin, used


def test_every_sloguard_metric_is_on_the_dashboard() -> None:
    used = set().union(*(metric_names(substitute(e)) for _, e in queries(load())))
    expected = {m for m in SLOGUARD_METRICS if m not in HISTOGRAMS} | {
        f"{h}_bucket" for h in HISTOGRAMS
    }
    assert not expected - used, f"not shown: {sorted(expected - used)}"


def test_episodes_are_annotations_from_the_severity() -> None:
    annotations = {a["name"]: a for a in load()["annotations"]["list"]}
    episodes = annotations["SLO episodes"]
    assert episodes["enable"] is True
    assert metric_names(substitute(episodes["expr"])) == {"sloguard_slo_severity"}
    assert "> 0" in episodes["expr"], "an episode is severity above OK"


def test_burn_rate_panel_shows_the_tier_thresholds() -> None:
    [panel] = [p for p in all_panels(load()["panels"]) if p["title"].startswith("Burn rate per")]
    steps = [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 1, 3, 6, 14.4]  # DESIGN.md's 30-day factors
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"
    assert "window" in panel["targets"][0]["expr"]


def test_a_wrong_metric_name_would_be_caught() -> None:
    """The allow-list check can fail: a misspelt metric is reported."""
    assert metric_names(substitute('sloguard_slo_burnrate{slo=~"$slo"}')) - ALLOWED


# --- against a real Prometheus that scrapes a running sloguard --------------------------------


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


INTERVALS_1S = ("--fast-interval", "1s", "--slow-interval", "1s")


@pytest.mark.prometheus
@pytest.mark.slow
def test_dashboard_metrics_exist_in_prometheus_scraping_a_running_sloguard(
    tmp_path: Path,
) -> None:
    """One Prometheus scrapes itself (the SLO's data: its own HTTP requests) and sloguard, and
    loads the generated rules; every metric of the dashboard must then be there."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    sloguard_port = free_port()
    slo_dir = tmp_path / "slos"
    slo_dir.mkdir()
    (slo_dir / "prometheus.yaml").write_text(
        "apiVersion: sloguard/v1\nkind: SLO\n"
        "metadata: {name: prometheus-api, labels: {team: sre}}\n"
        "spec:\n  service: prometheus\n  objective: 99.9\n  window: 30d\n"
        "  indicator:\n    ratio:\n"
        '      errors: sum(rate(prometheus_http_requests_total{code=~"5.."}[{{.window}}]))\n'
        "      total: sum(rate(prometheus_http_requests_total[{{.window}}]))\n",
        encoding="utf-8",
    )
    rules_dir = tmp_path / "rules"
    cli = [sys.executable, "-m", "sloguard"]
    subprocess.run(
        # The fast group no slower than this Prometheus' global interval (1s), as docs/rules.md
        # asks: with 15s the meta rules would read a 5m series up to 15 s younger than theirs;
        # the slow and meta groups at 1s too, so the test sees every series within seconds.
        [*cli, "generate", str(slo_dir), "-o", str(rules_dir), *INTERVALS_1S],
        cwd=REPO,
        check=True,
        timeout=60,
    )
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules_dir}/*.yaml', '{rules_dir}/*.yml']\n"
        "scrape_configs:\n"
        "  - job_name: sloguard\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{sloguard_port}']}}]\n",
        encoding="utf-8",
    )
    prom_log = (tmp_path / "prometheus.log").open("w")
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            "--web.listen-address=127.0.0.1:0",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
    )
    daemon = None
    try:
        log = tmp_path / "prometheus.log"
        port = _wait_for(
            lambda: re.search(
                r'msg="Listening on" address=127\.0\.0\.1:(\d+)', log.read_text("utf-8")
            ),
            15,
            "prometheus to listen",
        ).group(1)
        prom = f"http://127.0.0.1:{port}"
        # Add a self-scrape now that the port is known, so the SLO has data.
        config = (tmp_path / "prometheus.yml").read_text("utf-8")
        config += (
            f"  - job_name: prometheus\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        )
        (tmp_path / "prometheus.yml").write_text(config, encoding="utf-8")
        prometheus.send_signal(signal.SIGHUP)  # reloads the config
        (tmp_path / "sloguard.yaml").write_text(
            f"prometheus: {{url: '{prom}'}}\n"
            f"slo_paths: ['{slo_dir}']\n"
            "interval_seconds: 2\n"
            f"state_path: '{tmp_path / 'state.db'}'\n"
            "notifiers: []\nroutes: []\n"
            f"http: {{listen: '127.0.0.1:{sloguard_port}'}}\n",
            encoding="utf-8",
        )
        daemon = subprocess.Popen(
            [*cli, "run", "--config", str(tmp_path / "sloguard.yaml")],
            cwd=REPO,
            env={**os.environ, "PROMETHEUS_DISABLE_CREATED_SERIES": "True"},
        )

        def query(expr: str) -> list[dict[str, Any]]:
            reply = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5)
            result: list[dict[str, Any]] = reply.json()["data"]["result"]
            return result

        _wait_for(lambda: query('up{job="sloguard"} == 1'), 30, "Prometheus to scrape sloguard")
        _wait_for(lambda: query("sloguard_slo_burn_rate"), 30, "a first evaluation")
        _wait_for(lambda: query("slo:sli_error:ratio_rate5m"), 30, "the recording rules")

        # Names sloguard declares (labelled counters have a family before their first sample).
        text = httpx.get(f"http://127.0.0.1:{sloguard_port}/metrics", timeout=5).text
        exported = set()
        for family in text_string_to_metric_families(text):
            exported.add(family.name)
            exported.update(sample.name for sample in family.samples)
        used = set().union(*(metric_names(substitute(e)) for _, e in queries(load())))
        sloguard_used = {m for m in used if m.startswith("sloguard_")}
        assert sloguard_used <= exported | {"sloguard_notifications_total"}, (
            sloguard_used - exported
        )
        # Unlabelled and per-SLO series are in Prometheus after the first scrape.
        # Every sloguard series the dashboard reads is in Prometheus after the first scrape
        # (notifications need a notifier: this config has none).
        for name in sorted(sloguard_used - {"sloguard_notifications_total"}):
            assert query(name), f"{name} was not scraped"
        for name in sorted(m for m in used if m.startswith("slo:")):
            if name.startswith("slo:sli_error:ratio_rate"):
                continue  # only the windows the SLO's tiers use are recorded
            # Rule groups evaluate out of phase: a meta rule records a second after the series
            # it reads at the latest (every group here runs each second).
            _wait_for(lambda n=name: query(n), 10, f"recording rule {name} to have a series")
        # The dashboard's service variable reads this label.
        [objective] = query('sloguard_slo_objective_ratio{slo="prometheus-api"}')
        assert objective["metric"].get("service") == "prometheus"
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=15)
        prometheus.terminate()
        prometheus.wait(timeout=15)
        prom_log.close()
