"""The spec loader against the vendored Sloth and OpenSLO corpora (tests/data/conformance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.model import DEFAULT_TIERS, RatioIndicator, RawIndicator, Severity
from sloguard.spec import load, load_slos

DATA = Path(__file__).parents[1] / "data" / "conformance"
SLOTH = DATA / "sloth"
VALIDATE = SLOTH / "test" / "integration" / "prometheus" / "testdata" / "validate"
DUPES = VALIDATE.parent / "validate_with_duplicates"
OPENSLO = DATA / "openslo"

PLUGIN_FILES = {
    "contrib-denominator-corrected.yaml",
    "contrib-slo-plugins.yml",
    "plugin-getting-started.yml",
    "plugin-k8s-getting-started.yml",
    "slo-plugin-getting-started.yml",
    "slo-plugin-k8s-getting-started.yml",
    "victoria-metrics.yml",
}


def _examples() -> list[Path]:
    return sorted(p for p in (SLOTH / "examples").rglob("*.y*ml") if "_gen" not in p.parts)


@pytest.mark.parametrize(
    "path", [p for p in _examples() if p.name not in PLUGIN_FILES], ids=lambda p: p.name
)
def test_sloth_example_validates(path: Path) -> None:
    result = load([path])
    assert result.problems == []
    if "windows" not in path.parts:
        assert result.slos, "an example without SLOs proves nothing"


@pytest.mark.parametrize("path", [SLOTH / "examples" / n for n in sorted(PLUGIN_FILES)], ids=str)
def test_sloth_plugin_example_fails_with_plugin_not_supported(path: Path) -> None:
    result = load([path])
    assert any("plugin" in p.message and "not supported" in p.message for p in result.problems)
    assert all(p.location.line > 0 for p in result.problems)


@pytest.mark.parametrize("path", sorted(VALIDATE.glob("good/*")), ids=lambda p: p.name)
def test_sloth_validate_good(path: Path) -> None:
    assert load([path]).problems == []


def test_sloth_validate_good_as_one_directory_needs_ignore_duplicates() -> None:
    # Upstream runs the good directory with --ignore-slo-duplicates: its files reuse SLO IDs.
    assert load([VALIDATE / "good"], check_duplicates=False).problems == []
    assert any("duplicate" in p.message for p in load([VALIDATE / "good"]).problems)


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        pytest.param("bad-aa.yaml", "objective 101 is out of range", id="bad-aa"),
        pytest.param("bad-ab.yaml", "objective 101 is out of range", id="bad-ab"),
        pytest.param("bad-ba.yaml", "objective 101 is out of range", id="bad-ba"),
        pytest.param("bad-k8s.yaml", "spec.service: required", id="bad-k8s"),
        pytest.param("bad-multi-k8s.yaml", "alert name is required", id="bad-multi-k8s"),
        pytest.param("bad-multi.yaml", "sli is empty", id="bad-multi"),
        pytest.param("bad-openslo.yaml", "28-day window is not supported", id="bad-openslo"),
    ],
)
def test_sloth_validate_bad(name: str, needle: str) -> None:
    problems = load([VALIDATE / "bad" / name]).problems
    assert len(problems) == 1, problems
    assert needle in problems[0].message
    assert problems[0].location.line > 0


def test_every_bad_file_is_covered() -> None:
    assert len(list((VALIDATE / "bad").iterdir())) == 7


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param([DUPES / "bad-prom-multi-duplicates.yaml"], id="one-file"),
        pytest.param([DUPES / "prom"], id="prom"),
        pytest.param([DUPES / "k8s"], id="k8s"),
        pytest.param([DUPES / "openslo"], id="openslo"),
    ],
)
def test_duplicates_fail_and_pass_when_ignored(paths: list[Path]) -> None:
    problems = load(paths).problems
    assert problems
    assert all("duplicate SLO name" in p.message for p in problems)
    assert load(paths, check_duplicates=False).problems == []


def test_sloth_mapping_to_domain() -> None:
    slos = {s.name: s for s in load_slos([SLOTH / "examples" / "getting-started.yml"])}
    slo = slos["myservice-requests-availability"]
    assert slo.service == "myservice"
    assert slo.objective_percent == 99.9
    assert slo.period_seconds == 30 * 86400
    assert slo.tiers == DEFAULT_TIERS
    assert dict(slo.labels) == {"owner": "myteam", "repo": "myorg/myservice", "tier": "2"}
    assert isinstance(slo.indicator, RatioIndicator)
    assert 'code=~"(5..|429)"' in slo.indicator.errors
    assert slo.source.line == 9  # the SLO's list item in the Sloth file
    assert round(slo.tiers[0].factor(slo.period_seconds), 6) == 14.4


@pytest.mark.parametrize(
    ("file", "slo", "severities"),
    [
        pytest.param("no-alerts.yml", "myapp-http-availability", (), id="both-disabled"),
        pytest.param(
            "raw-home-wifi.yml",
            "home-wifi-wifi-client-satisfaction",
            tuple(t.severity for t in DEFAULT_TIERS),
            id="both-enabled",
        ),
    ],
)
def test_sloth_page_ticket_to_tiers(file: str, slo: str, severities: tuple[Severity, ...]) -> None:
    found = {s.name: s for s in load_slos([SLOTH / "examples" / file])}[slo]
    assert tuple(t.severity for t in found.tiers) == severities


def test_sloth_ticket_only(tmp_path: Path) -> None:
    src = (VALIDATE / "good" / "good-aa.yaml").read_text()
    src = src.replace(
        'pageAlert:\n        labels:\n          alert03k1: "alert03v1"',
        "pageAlert:\n        disable: true",
    )
    (tmp_path / "t.yaml").write_text(src)
    slo = next(s for s in load_slos([tmp_path]) if s.name == "svc01-slo1")
    assert [t.severity for t in slo.tiers] == [Severity.SEV3, Severity.SEV3]


def test_openslo_v1alpha_good_over_total() -> None:
    (slo,) = load_slos([VALIDATE / "good" / "good-openslo.yaml"])
    assert slo.name == "svc01-slo1-0"  # Sloth's ID for the first objective
    assert slo.objective_percent == pytest.approx(99.9)
    assert isinstance(slo.indicator, RatioIndicator)
    assert slo.indicator.errors.startswith("(sum(rate(http_request_duration_seconds_count")
    assert "code!~" in slo.indicator.errors  # total - good


@pytest.mark.parametrize(
    ("path", "needles"),
    [
        pytest.param(
            "examples/budgeting-method/occurences-slo.yaml",
            ["metricSource.type 'Any' is not supported"],
            id="threshold",
        ),
        pytest.param(
            "examples/budgeting-method/ratio-timeslices.yaml",
            ["metricSource.type 'Any'", "op is only for threshold metrics"],
            id="ratio-timeslices",
        ),
        pytest.param(
            "examples/budgeting-method/timeslices-slo.yaml",
            [
                "'1m': a sloguard calendar period is one day, week or month (1d, 1w, 1M); m is "
                "minutes",
                "metricSource.type 'Any'",
            ],
            id="timeslices",
        ),
        pytest.param(
            "examples/treat-low-traffic-as-equally-important/timeslices-slo.yaml",
            ["metricSource.type 'Any' is not supported", "op is only for threshold metrics"],
            id="low-traffic",
        ),
        pytest.param(
            "oslo/test/inputs/validate/invalid-apiversion.yaml",
            ["unknown apiVersion 'foo'"],
            id="invalid-apiversion",
        ),
        pytest.param(
            "oslo/test/inputs/validate/unknown-field.yaml",
            ["not an RFC 1123 name", "unknown field 'markdown'"],
            id="unknown-field",
        ),
        pytest.param(
            "oslo/test/inputs/validate/v1.yaml",
            ["op is only for threshold metrics", "'example service'"],
            id="v1",
        ),
        pytest.param(
            "oslo/test/inputs/validate/v1alpha.yaml",
            ["'my-rad service'", "incremental metrics are not supported", "unit 'Month'"],
            id="v1alpha",
        ),
        pytest.param(
            "oslo/test/inputs/validate/v2alpha.yaml",
            ["'openslo.com/v2alpha' is not supported"],
            id="v2alpha",
        ),
        pytest.param(
            "oslo/test/inputs/validate/recursive", ["not an RFC 1123 name"], id="recursive"
        ),
        pytest.param("oslo/test/inputs/validate/mix", ["not an RFC 1123 name"], id="mix"),
    ],
)
def test_openslo_corpus_fails_with_a_precise_reason(path: str, needles: list[str]) -> None:
    result = load([OPENSLO / path])
    messages = " | ".join(p.message for p in result.problems)
    for needle in needles:
        assert needle in messages
    assert all(p.location.line > 0 for p in result.problems)
    assert result.slos == []


def test_openslo_v1_ratio_with_sli_ref_across_files(tmp_path: Path) -> None:
    (tmp_path / "sli.yaml").write_text(
        """apiVersion: openslo/v1
kind: SLI
metadata: {name: api-errors}
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec: {query: 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'}
    total:
      metricSource:
        type: Prometheus
        spec: {query: 'sum(rate(http_requests_total[{{.window}}]))'}
"""
    )
    (tmp_path / "slo.yaml").write_text(
        """apiVersion: openslo/v1
kind: SLO
metadata: {name: api-availability, labels: {team: web}}
spec:
  service: api
  indicatorRef: api-errors
  timeWindow: [{duration: 4w, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: ok, target: 0.995}]
"""
    )
    (slo,) = load_slos([tmp_path])
    assert slo.name == "api-availability"
    assert slo.period_seconds == 28 * 86400
    assert slo.objective_percent == pytest.approx(99.5)
    assert dict(slo.labels) == {"team": "web"}
    assert isinstance(slo.indicator, RatioIndicator)
    assert slo.indicator.errors == 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'


def test_raw_indicator_from_sloth() -> None:
    (slo,) = load_slos([SLOTH / "examples" / "raw-home-wifi.yml"])
    assert isinstance(slo.indicator, RawIndicator)
    assert slo.total_query("5m") is None


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param([SLOTH / "examples"], id="sloth-examples"),
        pytest.param([OPENSLO], id="openslo"),
        pytest.param([VALIDATE], id="sloth-validate-good-and-bad"),
        pytest.param([DUPES], id="duplicates"),
        pytest.param([Path(__file__).parents[2] / "slo_definitions", OPENSLO], id="mixed"),
    ],
)
def test_building_file_by_file_gives_the_same_result(paths: list[Path]) -> None:
    """``load_slos`` builds each file's SLOs as it reads them and drops the parsed YAML
    (``keep_drafts=False``): the same SLOs, problems and warnings, in the same order."""
    kept = load(paths)
    dropped = load(paths, keep_drafts=False)
    assert dropped.drafts == []
    assert dropped.slos == kept.slos
    assert dropped.problems == kept.problems
    assert dropped.warnings == kept.warnings
    assert dropped.files == kept.files
