"""Sloth's per-alert metadata (issue 15): the alert name, labels and annotations of the page and
ticket alerts are carried, not warned about. Routes match the labels per severity, a disabled
alert's tiers never notify, and the generated alert rules carry what Sloth's own rules carry."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from sloguard.cli import main
from sloguard.lifecycle import LifecyclePolicy
from sloguard.model import DEFAULT_TIERS, SLO, Severity
from sloguard.paging import PagingPolicy, advance
from sloguard.routing import Matcher, Route
from sloguard.rules import render_rules, rule_groups
from sloguard.spec import LoadResult, load, native_yaml
from tests.support.ticks import T0, reading

CONFORMANCE = Path(__file__).parents[1] / "data" / "conformance" / "sloth" / "examples"

SLOTH = """
version: prometheus/v1
service: checkout
labels:
  team: payments
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      labels:
        category: availability
      annotations:
        summary: Checkout fails
        runbook: https://runbooks.example.com/checkout
      page_alert:
        labels:
          severity: critical
          routing_key: checkout
        annotations:
          note: wake someone
      ticket_alert:
        labels:
          severity: warning
          slack_channel: "#checkout"
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


def _alerts(slos: list[SLO]) -> list[dict[str, Any]]:
    text = render_rules(rule_groups(slos), "test")
    groups = yaml.safe_load(text)["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_field_is_carried_and_nothing_is_warned(tmp_path: Path) -> None:
    result = _load(tmp_path, SLOTH)
    assert result.warnings == [], [str(w) for w in result.warnings]
    [slo] = result.slos
    meta = slo.alerts
    assert meta.name == "CheckoutAvailability"
    assert dict(meta.labels) == {"category": "availability"}
    assert dict(meta.page_labels) == {"severity": "critical", "routing_key": "checkout"}
    assert dict(meta.ticket_labels) == {"severity": "warning", "slack_channel": "#checkout"}
    assert meta.annotations_for(Severity.SEV1)["note"] == "wake someone"
    assert "note" not in meta.annotations_for(Severity.SEV3)
    assert slo.runbook_url == "https://runbooks.example.com/checkout"
    assert slo.tiers == DEFAULT_TIERS


@pytest.mark.parametrize(
    ("severity", "labels"),
    [
        pytest.param(
            Severity.SEV1,
            {"severity": "critical", "routing_key": "checkout", "sloguard_severity": "SEV1"},
            id="page-fast",
        ),
        pytest.param(
            Severity.SEV2,
            {"severity": "critical", "routing_key": "checkout", "sloguard_severity": "SEV2"},
            id="page-medium",
        ),
        pytest.param(
            Severity.SEV3,
            {"severity": "warning", "slack_channel": "#checkout", "sloguard_severity": "SEV3"},
            id="ticket",
        ),
    ],
)
def test_generated_alerts_carry_the_alerts_labels_and_name(
    tmp_path: Path, severity: Severity, labels: dict[str, str]
) -> None:
    alerts = _alerts([_one(tmp_path, SLOTH)])
    [rule] = [r for r in alerts if r["labels"].get("sloguard_severity") == str(severity)]
    assert rule["alert"] == "CheckoutAvailability"
    assert labels.items() <= rule["labels"].items()
    assert rule["labels"]["category"] == "availability"
    assert rule["annotations"]["summary"] == "Checkout fails"
    assert rule["annotations"]["runbook"] == "https://runbooks.example.com/checkout"
    assert rule["annotations"]["runbook_url"] == "https://runbooks.example.com/checkout"


def test_own_severity_label_never_merges_two_alerts_into_one(tmp_path: Path) -> None:
    alerts = _alerts([_one(tmp_path, SLOTH)])
    labelsets = [tuple(sorted(r["labels"].items())) for r in alerts]
    assert len(set(labelsets)) == len(labelsets) == 3


def test_without_own_severity_the_rules_are_as_before(tmp_path: Path) -> None:
    text = SLOTH.replace("severity: critical", "owner: a").replace("severity: warning", "owner: b")
    alerts = _alerts([_one(tmp_path, text)])
    assert [r["labels"]["severity"] for r in alerts] == ["SEV1", "SEV2", "SEV3"]
    assert not any("sloguard_severity" in r["labels"] for r in alerts)


@pytest.mark.parametrize(
    ("which", "severities"),
    [
        pytest.param("page_alert", {"SEV3"}, id="page-disabled"),
        pytest.param("ticket_alert", {"SEV1", "SEV2"}, id="ticket-disabled"),
    ],
)
def test_a_disabled_alert_has_no_tiers_and_no_labels(
    tmp_path: Path, which: str, severities: set[str]
) -> None:
    text = SLOTH.replace(f"      {which}:\n", f"      {which}:\n        disable: true\n")
    slo = _one(tmp_path, text)
    assert {str(t.severity) for t in slo.tiers} == severities
    alerts = _alerts([slo])
    assert {r["labels"]["sloguard_severity"] for r in alerts} == severities
    gone = "routing_key" if which == "page_alert" else "slack_channel"
    assert not any(gone in r["labels"] for r in alerts)


def test_import_writes_the_alert_fields_and_round_trips(tmp_path: Path) -> None:
    source = tmp_path / "sloth.yaml"
    source.write_text(textwrap.dedent(SLOTH).lstrip(), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(source)])
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    native = yaml.safe_load(result.stdout)
    assert native["spec"]["alerting"] == {
        "name": "CheckoutAvailability",
        "labels": {"category": "availability"},
        "annotations": {
            "summary": "Checkout fails",
            "runbook": "https://runbooks.example.com/checkout",
        },
        "page": {
            "labels": {"severity": "critical", "routing_key": "checkout"},
            "annotations": {"note": "wake someone"},
        },
        "ticket": {"labels": {"severity": "warning", "slack_channel": "#checkout"}},
    }
    again = tmp_path / "native.yaml"
    again.write_text(native_yaml([native]), encoding="utf-8")
    [a], [b] = load([again]).slos, load([source]).slos
    assert (a.alerts, a.tiers, a.runbook_url) == (b.alerts, b.tiers, b.runbook_url)


# --- routes match the alert labels, per severity ------------------------------------------

ROUTES = (
    Route(("pager",), match=Matcher(labels={"routing_key": "checkout"})),
    Route(("chat",), match=Matcher(labels={"slack_channel": "#checkout"})),
    Route(("all",), match=Matcher(labels={"category": "availability"})),
)


@pytest.mark.parametrize(
    ("severity", "notifiers"),
    [
        pytest.param(Severity.SEV1, ["pager", "all"], id="sev1-page-labels"),
        pytest.param(Severity.SEV2, ["pager", "all"], id="sev2-page-labels"),
        pytest.param(Severity.SEV3, ["chat", "all"], id="sev3-ticket-labels"),
    ],
)
def test_routes_match_the_alert_labels_of_the_severity(
    tmp_path: Path, severity: Severity, notifiers: list[str]
) -> None:
    slo = _one(tmp_path, SLOTH)
    policy = PagingPolicy(lifecycle=LifecyclePolicy(), routes=ROUTES)
    out = advance(slo, reading(slo, severity, T0), None, T0, policy)
    assert [r.notifier for r in out.rows] == notifiers
    note = out.rows[0].payload
    assert note["labels"]["severity"] == ("warning" if severity is Severity.SEV3 else "critical")


def test_escalation_from_ticket_to_page_reaches_the_page_route(tmp_path: Path) -> None:
    slo = _one(tmp_path, SLOTH)
    policy = PagingPolicy(lifecycle=LifecyclePolicy(), routes=ROUTES)
    first = advance(slo, reading(slo, Severity.SEV3, T0), None, T0, policy)
    later = T0 + 60
    second = advance(slo, reading(slo, Severity.SEV1, later), first.state, later, policy)
    assert [(r.notifier, r.kind) for r in second.rows] == [
        ("pager", "declared"),
        ("all", "escalated"),
    ]


# --- the same metadata as Sloth's own generated rules -------------------------------------


EXAMPLES = [
    p
    for p in sorted(CONFORMANCE.glob("*.y*ml"))
    # Not the plugin examples: Sloth plugins are Go code that sloguard refuses.
    if not p.name.startswith(("plugin-", "slo-plugin-", "contrib-", "openslo-", "victoria-"))
]
# Sloth's own defaults, where the file sets none: sloguard writes its own summary instead.
SLOTH_DEFAULTS = {
    "summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate "
    "is over expected."
}


def _sloth_alerts(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Sloth's generated alert rules by SLO id (from the group name), plain or PrometheusRule."""
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        groups = (doc.get("spec") or doc)["groups"] if doc else []
        for group in groups:
            if group["name"].startswith("sloth-slo-alerts-"):
                sid = group["name"].removeprefix("sloth-slo-alerts-")
                out[sid] = [r for r in group["rules"] if "alert" in r]
    return out


@pytest.mark.parametrize("source", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_alerts_carry_what_sloths_generated_alerts_carry(source: Path) -> None:
    """Every label and annotation of Sloth's generated page and ticket alerts (but its own
    ``title``, its default summary and the generator's ``cmd`` label) is on ours, under the
    same alert name."""
    theirs = _sloth_alerts(CONFORMANCE / "_gen" / source.name)
    result = load([source])
    assert result.problems == []
    groups = {g.name: g for g in rule_groups(result.slos)}
    for sid, their_rules in theirs.items():
        ours: list[dict[str, Any]] = [
            r.as_dict() for r in groups[f"sloguard-slo-alerts-{sid}"].rules
        ]
        for their in their_rules:
            kind = their["labels"]["sloth_severity"]
            mine = [r for r in ours if r.get("labels", {}).get("sloth_severity") == kind]
            assert mine, (sid, kind)
            for rule in mine:
                assert rule["alert"] == their["alert"]
                labels = {k: v for k, v in their["labels"].items() if k != "cmd"}
                assert labels.items() <= rule["labels"].items(), (sid, kind, rule["labels"])
                annotations = {
                    k: v
                    for k, v in their["annotations"].items()
                    if k != "title" and SLOTH_DEFAULTS.get(k) != v
                }
                assert annotations.items() <= rule["annotations"].items(), (sid, kind)


# --- the native fields, located errors ------------------------------------------------------

NATIVE = """
apiVersion: sloguard/v1
kind: SLO
metadata: {name: api}
spec:
  service: api
  objective: 99
  indicator:
    ratio:
      errors: sum(rate(errors_total[{{.window}}]))
      total: sum(rate(requests_total[{{.window}}]))
  alerting:
    name: ApiBurn
    page: {labels: {routing_key: api}}
    absent: {selectors: ['requests_total{job="api"}'], for: 5m}
"""


@pytest.mark.parametrize(
    ("change", "line", "needle"),
    [
        pytest.param(
            ("name: ApiBurn", "name: Api Burn"), 12, "not a Prometheus alert name", id="name"
        ),
        pytest.param(
            ("routing_key: api", "routing-key: api"), 13, "not a Prometheus label name", id="label"
        ),
        pytest.param(("for: 5m", "for: 5x"), 14, "'5x' is not a duration", id="absent-for"),
        pytest.param(
            ("['requests_total{job=\"api\"}']", "['sum(requests_total)']"),
            14,
            "is not a series selector",
            id="absent-selector",
        ),
    ],
)
def test_bad_alert_fields_are_located(
    tmp_path: Path, change: tuple[str, str], line: int, needle: str
) -> None:
    result = _load(tmp_path, NATIVE.replace(*change))
    assert result.slos == []
    assert any(p.location.line == line and needle in p.message for p in result.problems), [
        str(p) for p in result.problems
    ]


def test_native_alert_fields_load(tmp_path: Path) -> None:
    slo = _one(tmp_path, NATIVE)
    assert slo.alerts.name == "ApiBurn"
    assert slo.alerts.absent is not None
    assert (slo.alerts.absent.selectors, slo.alerts.absent.for_seconds) == (
        ('requests_total{job="api"}',),
        300,
    )
