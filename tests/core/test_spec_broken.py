"""Broken inputs: each gives one clear, located error and never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloguard.errors import SpecError
from sloguard.model import LatencyIndicator
from sloguard.spec import Limits, load, load_slos

ROOT = Path(__file__).resolve().parents[2]

GOOD = """apiVersion: sloguard/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
"""


def _swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

CASES = [
    pytest.param(
        _swap("spec:\n  service", "spec:\nservice"), (7, 12), "invalid YAML", id="bad-indentation"
    ),
    pytest.param(
        _swap("objective: 99.9", "objective: '99.9'"),
        (7, 3),
        "spec.objective: expected a number, got a string",
        id="objective-string",
    ),
    pytest.param(
        _swap("  service: checkout", "  service: [checkout]"),
        (6, 3),
        "spec.service: expected a string, got a list",
        id="service-list",
    ),
    pytest.param(
        GOOD.split("  indicator:")[0],
        (5, 1),
        "spec: missing required field 'indicator'",
        id="missing-indicator",
    ),
    pytest.param(
        GOOD + "    raw:\n      error_ratio: vector(0)[{{.window}}]\n",
        (9, 3),
        "indicator has 'ratio' and 'raw'; give exactly one",
        id="two-indicators",
    ),
    pytest.param(
        _swap("objective: 99.9", "objective: 100"),
        (7, 3),
        "objective 100 is out of range",
        id="objective-100",
    ),
    pytest.param(
        _swap("window: 30d", "window: 30x"), (8, 3), "'30x' is not a duration", id="window-30x"
    ),
    pytest.param(
        _swap("window: 30d", "window: 36h"),
        (8, 3),
        "not a whole number of days",
        id="window-hours",
    ),
    pytest.param(
        _swap("[{{.window}}]))\n      total", "[{{.window}}])\n      total"),
        (11, 7),
        "spec.indicator.ratio.errors: not valid PromQL",
        id="unbalanced-promql",
    ),
    pytest.param(
        _swap("http_requests_total[{{.window}}]", "http_requests_total[5m]"),
        (12, 7),
        "no {{.window}} placeholder",
        id="no-placeholder",
    ),
    pytest.param(
        _swap("  objective: 99.9", "  objectve: 99.9"),
        (7, 3),
        "unknown field 'objectve' in spec; did you mean 'objective'?",
        id="typo-did-you-mean",
    ),
    pytest.param(
        _swap(
            "objective: 99.9",
            "objective: 90\n  alerting:\n    tiers:\n"
            "      - {severity: SEV1, long: 1h, short: 5m, budget_percent: 2}",
        ),
        (10, 9),
        "tier SEV1 (1h/5m, 2 % of the budget) can never fire at objective 90 %",
        id="tier-never-fires",
    ),
    pytest.param(
        _swap("objective: 99.9", "objective: 90"),
        (7, 3),
        "default tier SEV1",
        id="default-tier-never-fires",
    ),
    pytest.param(
        _swap(
            "objective: 99.9",
            "objective: 99.9\n  alerting:\n    tiers:\n"
            "      - {severity: SEV1, long: 5m, short: 1h, budget_percent: 2}",
        ),
        (10, 36),
        "must be shorter than the long window",
        id="short-longer-than-long",
    ),
    pytest.param(
        _swap("objective: 99.9", "objective: 99.9\n  group_by: [route]"),
        (12, 7),
        "drops group_by label(s) route",
        id="group-by-dropped",
    ),
    pytest.param(
        _swap("objective: 99.9", "objective: 99.9\n  group_by: [route, sloguard_query]"),
        (8, 3),
        "'sloguard_query' is reserved",
        id="group-by-reserved-label",
    ),
    pytest.param(
        _swap("name: checkout-availability", "name: Checkout Availability!"),
        (4, 3),
        "metadata.name: name 'Checkout Availability!' is not valid",
        id="bad-name",
    ),
    pytest.param(
        _swap("apiVersion: sloguard/v1", "apiVersoin: sloguard/v1"),
        (1, 1),
        "did you mean 'apiVersion'?",
        id="apiversion-typo",
    ),
    pytest.param(
        _swap("  window: 30d", "  window: 30d\n  prometheus: {tenant: 'team a'}"),
        (9, 16),
        "spec.prometheus.tenant: 'team a' is not a tenant ID",
        id="tenant-with-a-space",
    ),
    pytest.param(
        _swap("  window: 30d", "  window: 30d\n  prometheus: {url: http://mimir}"),
        (9, 16),
        "unknown field 'url' in spec.prometheus; valid: tenant",
        id="prometheus-url-per-slo",
    ),
    pytest.param("a: 1\na: 2\n", (2, 1), "duplicate key 'a'", id="duplicate-key"),
    pytest.param(BOMB, (1, 35), "YAML bomb", id="yaml-bomb"),
    pytest.param("a: &a [*a]\n", (1, 4), "recursion", id="recursive-alias"),
    pytest.param("[" * 100 + "]" * 100, (1, 66), "nesting deeper", id="deep-nesting"),
    pytest.param("- just a string\n", (1, 3), "expected an SLO document", id="list-of-str"),
    pytest.param("hello\n", (1, 1), "expected an SLO document", id="scalar"),
]


@pytest.mark.parametrize(("text", "where", "needle"), CASES)
def test_broken_input_gives_one_located_error(
    tmp_path: Path, text: str, where: tuple[int, int], needle: str
) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(text, encoding="utf-8")
    result = load([path])
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    (problem,) = result.problems
    assert needle in problem.message
    assert (problem.location.line, problem.location.column) == where
    assert problem.location.file == str(path)
    with pytest.raises(SpecError):
        load_slos([path])


@pytest.mark.parametrize(
    ("data", "where", "needle"),
    [
        pytest.param(b"\x00\x01\x02garbage", (1, 1), "binary data", id="binary"),
        pytest.param(b"ok: 1\n\x00\xff", (2, 2), "not UTF-8", id="binary-not-utf8"),
        pytest.param(b"a: 1\nb: caf\xe9\n", (2, 7), "not UTF-8", id="latin-1"),
        pytest.param(b"\x89PNG\r\n\x1a\n", (1, 1), "not UTF-8", id="png"),
    ],
)
def test_bytes_that_are_not_yaml_text(
    tmp_path: Path, data: bytes, where: tuple[int, int], needle: str
) -> None:
    path = tmp_path / "slo.yaml"
    path.write_bytes(data)
    (problem,) = load([path]).problems
    assert needle in problem.message
    assert (problem.location.line, problem.location.column) == where


def test_file_above_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as fh:  # 50 MB of otherwise valid YAML
        line = "# " + "x" * 1000 + "\n"
        for _ in range(50 * 1024):
            fh.write(line)
    (problem,) = load([path]).problems
    assert "above the limit of 10.0 MiB" in problem.message
    assert (problem.location.line, problem.location.column) == (1, 1)


def test_document_count_limit(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("---\na: 1\n" * 5)
    problems = load([path], limits=Limits(max_documents=3)).problems
    (limit,) = [p for p in problems if "more than 3 documents" in p.message]
    assert limit.location.line == 8
    assert len(problems) == 4  # the three documents read before the limit are not SLOs


def test_latency_indicator_and_window() -> None:
    text = _swap(
        '    ratio:\n      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))\n'
        "      total: sum(rate(http_requests_total[{{.window}}]))\n",
        "    latency: {histogram: http_request_duration_seconds, threshold_seconds: 0.3,"
        " selector: '{job=\"checkout\"}'}\n",
    ).replace("window: 30d", "window: 28d")
    (slo,) = load_slos([_write(text)])
    assert isinstance(slo.indicator, LatencyIndicator)
    assert slo.period_seconds == 28 * 86400
    assert round(slo.tiers[0].factor(slo.period_seconds), 4) == 13.44


def test_examples_in_slo_definitions_validate() -> None:
    slos = load_slos([ROOT / "slo_definitions"])
    assert len(slos) >= 4
    names = {s.name for s in slos}
    assert "api-gateway-route-availability" in names
    grouped = next(s for s in slos if s.name == "api-gateway-route-availability")
    assert grouped.group_by == ("route",)
    assert any(s.period_seconds == 28 * 86400 for s in slos)


def test_anchors_and_merge_keys_are_fine(tmp_path: Path) -> None:
    text = GOOD.replace("spec:\n", "x-common: &common {service: checkout, window: 30d}\nspec:\n")
    text = text.replace("  service: checkout\n", "  <<: *common\n").replace("  window: 30d\n", "")
    text = text.replace("x-common", "# x").replace("# x: &common", "x-anchor: &common")
    path = tmp_path / "a.yaml"
    path.write_text(text)
    problems = load([path]).problems
    # x-anchor is an unknown top-level field: the merge itself worked
    assert [p.message.split(";")[0] for p in problems] == [
        "unknown field 'x-anchor' in the document"
    ]


def _write(text: str) -> Path:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)  # noqa: SIM115
    handle.write(text)
    handle.close()
    return Path(handle.name)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloguard", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        pytest.param(
            _swap("window: 30d", "window: 30x").encode(), ":8:3: error: spec.window", id="30x"
        ),
        pytest.param(b"\x00\xff\xfe binary", ":1:2: error: not UTF-8", id="binary"),
        pytest.param(BOMB.encode(), ":1:35: error: document expands", id="bomb"),
        pytest.param(b"a: [1, 2\n", ":2:1: error: invalid YAML", id="unclosed-flow"),
    ],
)
def test_cli_validate_reports_located_error_without_traceback(
    tmp_path: Path, content: bytes, expect: str
) -> None:
    path = tmp_path / "slo.yaml"
    path.write_bytes(content)
    proc = _cli("validate", str(path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    (line,) = proc.stdout.splitlines()
    assert line == f"{path}{expect}" + line.split(expect, 1)[1]


def test_cli_validate_json_and_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    assert _cli("validate", str(good)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(_swap("objective: 99.9", "objective: 100"))
    proc = _cli("validate", "--format", "json", str(tmp_path))
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert rows == [
        {
            "file": str(bad),
            "line": 7,
            "column": 3,
            "field": "spec.objective",
            "level": "error",
            "message": rows[0]["message"],
        }
    ]
    assert _cli("validate", str(tmp_path / "missing.yaml")).returncode == 2
    assert _cli("validate").returncode == 2
    assert _cli("validate", "--format", "xml", str(good)).returncode == 2


def test_cli_import_round_trips_sloth(tmp_path: Path) -> None:
    src = ROOT / "tests/data/conformance/sloth/examples/kubernetes-apiserver.yml"
    proc = _cli("import", "-o", str(tmp_path / "out"), str(src))
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr  # the alert name and labels are carried (issue 15)
    out = tmp_path / "out" / "kubernetes-apiserver.yml".replace(".yml", ".yaml")
    imported = load_slos([out])
    original = load_slos([src])
    assert [
        (s.name, s.objective_percent, s.indicator, s.tiers, dict(s.labels), s.alerts)
        for s in imported
    ] == [
        (s.name, s.objective_percent, s.indicator, s.tiers, dict(s.labels), s.alerts)
        for s in original
    ]
    stdout = _cli("import", str(src))
    assert stdout.returncode == 0
    assert stdout.stdout.count("apiVersion: sloguard/v1") == 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        st.lists(
            st.sampled_from(
                [*GOOD.splitlines(keepends=True), "  - x\n", "{{", "&a", "*a\n", ": :\n", "\t"]
            ),
            max_size=30,
        ).map("".join),
    )
)
def test_any_input_loads_or_reports_problems(text: str) -> None:
    path = _PROPERTY_DIR / "p.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    result = load([path])  # must not raise
    assert all(p.location.file == str(path) for p in result.problems)
    if result.problems:
        with pytest.raises(SpecError) as info:
            load_slos([path])
        assert info.value.problems == result.problems
    else:
        assert load_slos([path]) == result.slos


_PROPERTY_DIR = Path(__import__("tempfile").mkdtemp(prefix="sloguard-prop-"))
