"""Time-slice SLIs (issue 15): the native ``timeslices`` indicator, its PromQL, and OpenSLO's
Timeslices, RatioTimeslices and thresholdMetric imported onto it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import promql_parser
import pytest
from click.testing import CliRunner

from sloguard.cli import main
from sloguard.model import TimesliceIndicator
from sloguard.rules import rule_groups
from sloguard.spec import load

ERRORS = 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'
TOTAL = "sum(rate(http_requests_total[{{.window}}]))"
GOOD = 'sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))'
LAG = "max_over_time(queue_lag_seconds[{{.window}}])"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def _native(indicator: str, extra: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(indicator).strip(), " " * 8)
    return (
        "apiVersion: sloguard/v1\nkind: SLO\nmetadata: {name: minutes}\nspec:\n"
        "  service: checkout\n  objective: 99\n  window: 7d\n"
        f"{extra}  indicator:\n    timeslices:\n{body}\n"
    )


RATIO = f"""
slice: 1m
ratio:
  errors: '{ERRORS}'
  total: '{TOTAL}'
"""


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [
        pytest.param(
            RATIO + "slice_target_percent: 99.9\n",
            TimesliceIndicator(60, errors=ERRORS, total=TOTAL, slice_target=0.999),
            id="good-slices",
        ),
        pytest.param(
            RATIO.replace("1m", "5m"),
            TimesliceIndicator(300, errors=ERRORS, total=TOTAL),
            id="mean-of-slice-ratios",
        ),
        pytest.param(
            f"threshold: {{query: '{LAG}', op: lte, threshold: 30}}",
            TimesliceIndicator(60, query=LAG, op="lte", threshold=30.0),
            id="threshold-default-slice",
        ),
    ],
)
def test_native_timeslices_build(tmp_path: Path, indicator: str, expected: object) -> None:
    result = load([_write(tmp_path, _native(indicator))])
    assert result.problems == []
    (slo,) = result.slos
    assert slo.indicator == expected
    assert not slo.counts_events
    assert slo.total_query("5m") is None


@pytest.mark.parametrize(
    ("indicator", "extra", "line", "needle"),
    [
        pytest.param("slice: 1m", "", 9, "give exactly one of ratio, threshold", id="no-sli"),
        pytest.param(
            f"threshold: {{query: '{LAG}', op: le, threshold: 30}}",
            "",
            10,
            "op 'le' is not one of lt, lte, gt, gte",
            id="bad-op",
        ),
        pytest.param(
            f"slice_target_percent: 90\nthreshold: {{query: '{LAG}', op: lt, threshold: 3}}",
            "",
            9,
            "slice_target_percent is for a ratio",
            id="target-on-threshold",
        ),
        pytest.param(
            RATIO.replace("1m", "7m"),
            "",
            10,
            "slice 7m does not divide the window(s) 5m, 30m, 1h, 2h, 6h, 1d, 3d",
            id="uneven-slice",
        ),
        pytest.param(
            RATIO.replace("1m", "fortnight"), "", 10, "a slice is e.g. 1m", id="bad-slice"
        ),
        pytest.param(
            RATIO + "slice_target_percent: 0\n",
            "",
            14,
            "greater than 0",
            id="zero-target",
        ),
        pytest.param(
            RATIO.replace("[{{.window}}]", "[1m]"),
            "",
            12,
            "no {{.window}} placeholder",
            id="no-placeholder",
        ),
        pytest.param(
            RATIO, "  min_events: 10\n", 8, "min_events needs event counts", id="min-events"
        ),
    ],
)
def test_native_timeslices_errors_are_located(
    tmp_path: Path, indicator: str, extra: str, line: int, needle: str
) -> None:
    path = _write(tmp_path, _native(indicator, extra))
    result = load([path])
    assert result.slos == []
    assert any(p.location.line == line and needle in p.message for p in result.problems), [
        str(p) for p in result.problems
    ]


BAD_SLICE = (
    '1 - ((1 - (((sum(rate(http_requests_total{code=~"5.."}[1m]))) or 0 * '
    "(sum(rate(http_requests_total[1m]))))\n/\n((sum(rate(http_requests_total[1m]))) > 0))) "
    ">= bool 0.9)"
)


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [
        pytest.param(
            TimesliceIndicator(60, errors=ERRORS, total=TOTAL, slice_target=0.9),
            f"avg_over_time((\n{BAD_SLICE}\n)[1h:1m])",
            id="share-of-bad-slices",
        ),
        pytest.param(
            TimesliceIndicator(60, errors=ERRORS, total=TOTAL),
            'avg_over_time((\n((sum(rate(http_requests_total{code=~"5.."}[1m]))) or 0 * '
            "(sum(rate(http_requests_total[1m]))))\n/\n((sum(rate(http_requests_total[1m]))) "
            "> 0)\n)[1h:1m])",
            id="mean-slice-error-ratio",
        ),
        pytest.param(
            TimesliceIndicator(300, query=LAG, op="gt", threshold=0.5),
            "avg_over_time((\n1 - (((max_over_time(queue_lag_seconds[5m])) >= -Inf) > bool 0.5)\n)"
            "[1h:5m])",
            id="threshold",
        ),
    ],
)
def test_error_ratio_is_the_mean_badness_of_the_slices(
    indicator: TimesliceIndicator, expected: str
) -> None:
    text = indicator.error_ratio("1h")
    assert text == expected
    promql_parser.parse(text)


OPENSLO_V1 = """
apiVersion: openslo/v1
kind: SLO
metadata: {{name: checkout}}
spec:
  service: checkout
  budgetingMethod: {method}
  indicator:
    metadata: {{name: sli}}
    spec:
{sli}
  timeWindow: [{{duration: 28d, isRolling: true}}]
  objectives:
    - {objective}
"""
V1_RATIO = f"""      ratioMetric:
        good: {{metricSource: {{type: Prometheus, spec: {{query: '{GOOD}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: '{TOTAL}'}}}}}}"""
V1_THRESHOLD = f"""      thresholdMetric:
        metricSource: {{type: Prometheus, spec: {{query: '{LAG}'}}}}"""


def _openslo(method: str, sli: str, objective: str) -> str:
    return OPENSLO_V1.format(method=method, sli=sli, objective=objective)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            _openslo(
                "Timeslices", V1_RATIO, "{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 5m}"
            ),
            {"slice_seconds": 300, "slice_target": 0.95, "query": ""},
            id="v1-timeslices",
        ),
        pytest.param(
            _openslo("RatioTimeslices", V1_RATIO, "{target: 0.99, timeSliceWindow: 60}"),
            {"slice_seconds": 60, "slice_target": None, "query": ""},
            id="v1-ratio-timeslices-seconds",
        ),
        pytest.param(
            _openslo("Occurrences", V1_THRESHOLD, "{target: 0.99, op: lte, value: 30}"),
            {"slice_seconds": 60, "op": "lte", "threshold": 30.0, "query": LAG},
            id="v1-threshold-occurrences",
        ),
        pytest.param(
            _openslo(
                "Timeslices",
                V1_THRESHOLD,
                "{target: 0.99, op: gt, value: 2, timeSliceTarget: 1, timeSliceWindow: 5m}",
            ),
            {"slice_seconds": 300, "op": "gt", "threshold": 2.0, "query": LAG},
            id="v1-threshold-timeslices",
        ),
        pytest.param(
            f"""
            apiVersion: openslo/v1alpha
            kind: SLO
            metadata: {{name: lag}}
            spec:
              service: queue
              budgetingMethod: Timeslices
              indicator:
                thresholdMetric: {{source: prometheus, queryType: promql, query: '{LAG}'}}
              objectives: [{{target: 0.98, op: lt, value: 10, timeSliceTarget: 0.9}}]
            """,
            {"slice_seconds": 60, "op": "lt", "threshold": 10.0, "query": LAG},
            id="v1alpha-threshold",
        ),
        pytest.param(
            f"""
            apiVersion: openslo/v1alpha
            kind: SLO
            metadata: {{name: avail}}
            spec:
              service: web
              budgetingMethod: Timeslices
              objectives:
                - target: 0.98
                  timeSliceTarget: 0.9
                  ratioMetrics:
                    good: {{source: prometheus, query: '{GOOD}'}}
                    total: {{source: prometheus, query: '{TOTAL}'}}
            """,
            {"slice_seconds": 60, "slice_target": 0.9, "total": TOTAL},
            id="v1alpha-timeslices",
        ),
    ],
)
def test_openslo_imports_onto_timeslices(
    tmp_path: Path, text: str, expected: dict[str, object]
) -> None:
    result = load([_write(tmp_path, text)])
    assert result.problems == [], [str(p) for p in result.problems]
    (slo,) = result.slos
    assert isinstance(slo.indicator, TimesliceIndicator)
    assert {k: getattr(slo.indicator, k) for k in expected} == expected
    if not slo.indicator.query:
        assert slo.indicator.errors == f"({TOTAL}) - ({GOOD})"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        pytest.param(
            _openslo("Timeslices", V1_RATIO, "{target: 0.99, timeSliceWindow: 1m}"),
            15,
            "budgetingMethod Timeslices needs a number above 0 and at most 1",
            id="no-time-slice-target",
        ),
        pytest.param(
            _openslo("Timeslices", V1_RATIO, "{target: 0.99, timeSliceTarget: 0.9}"),
            15,
            "timeSliceWindow: required by Timeslices",
            id="no-time-slice-window",
        ),
        pytest.param(
            _openslo("Occurrences", V1_RATIO, "{target: 0.99, timeSliceTarget: 0.9}"),
            15,
            "timeSliceTarget is for budgetingMethod Timeslices or RatioTimeslices",
            id="slices-on-occurrences",
        ),
        pytest.param(
            _openslo("Occurrences", V1_THRESHOLD, "{target: 0.99, value: 3}"),
            14,
            "a thresholdMetric objective needs op",
            id="threshold-without-op",
        ),
        pytest.param(
            _openslo("Occurrences", V1_THRESHOLD, "{target: 0.99, op: lt, value: fast}"),
            14,
            "value: a thresholdMetric objective needs a number",
            id="threshold-value-text",
        ),
        pytest.param(
            _openslo(
                "Timeslices", V1_RATIO, "{target: 0.99, timeSliceTarget: 1.5, timeSliceWindow: 1m}"
            ),
            15,
            "got 1.5",
            id="target-above-one",
        ),
        pytest.param(
            _openslo(
                "Timeslices",
                V1_THRESHOLD,
                "{target: 0.99, op: lt, value: 3, timeSliceTarget: 2, timeSliceWindow: 1m}",
            ),
            14,
            "needs a number above 0 and at most 1",
            id="threshold-target-above-one",
        ),
        pytest.param(
            _openslo("RatioTimeslices", V1_RATIO, "{target: 0.99, timeSliceWindow: 1M}"),
            15,
            "timeSliceWindow:",
            id="month-slice",
        ),
        pytest.param(
            _openslo("Hourly", V1_RATIO, "{target: 0.99}"),
            6,
            "use one of Occurrences, Timeslices, RatioTimeslices",
            id="unknown-method",
        ),
    ],
)
def test_openslo_timeslice_errors_are_located(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    result = load([_write(tmp_path, text)])
    assert result.slos == []
    assert any(p.location.line == line and needle in p.message for p in result.problems), [
        str(p) for p in result.problems
    ]


def test_rules_record_the_slice_error_ratio_without_event_counts(tmp_path: Path) -> None:
    result = load([_write(tmp_path, _native(RATIO + "slice_target_percent: 90\n"))])
    (slo,) = result.slos
    groups = rule_groups([slo])  # fast, sli, slow, meta, alerts: by name, not position
    records = {r.record: r.expr for g in groups if "-sli-" in g.name for r in g.rules}
    (meta,) = (g for g in groups if "-meta-" in g.name)
    assert not any(name.startswith("slo:sli_total") for name in records)
    for window in ("5m", "1h", "3d"):
        assert records[f"slo:sli_error:ratio_rate{window}"].strip() == slo.error_ratio_query(window)
    # the period from the base window's samples, as for raw ratios (cheap: no 7d subquery)
    assert records["slo:sli_error:ratio_rate1w"].startswith(
        "sum_over_time(slo:sli_error:ratio_rate5m"
    )
    assert meta.rules


def test_import_writes_a_native_file_that_loads_to_the_same_slos(tmp_path: Path) -> None:
    source = _write(
        tmp_path,
        _openslo(
            "Timeslices", V1_RATIO, "{target: 0.999, timeSliceTarget: 0.95, timeSliceWindow: 1m}"
        ),
    )
    result = CliRunner().invoke(main, ["import", str(source)])
    assert result.exit_code == 0, result.stderr
    native = tmp_path / "native.yaml"
    native.write_text(result.stdout, encoding="utf-8")
    (again,), (original,) = load([native]).slos, load([source]).slos
    assert (again.indicator, again.objective_percent) == (original.indicator, 99.9)


EXAMPLES = Path(__file__).parents[1] / "data" / "conformance" / "openslo" / "examples"


@pytest.mark.parametrize(
    ("example", "query", "expected"),
    [
        pytest.param(
            "budgeting-method/occurences-slo.yaml",
            LAG,
            TimesliceIndicator(60, query=LAG, op="lt", threshold=500.0),
            id="threshold-occurrences",
        ),
        pytest.param(
            "budgeting-method/ratio-timeslices.yaml",
            TOTAL,
            TimesliceIndicator(60, errors=f"({TOTAL}) - ({TOTAL})", total=TOTAL),
            id="ratio-timeslices",
        ),
    ],
)
def test_openslo_examples_import_once_their_placeholders_are_prometheus(
    tmp_path: Path, example: str, query: str, expected: TimesliceIndicator
) -> None:
    """OpenSLO's own budgeting examples stand for "any" source; with Prometheus filled in (and
    ``op`` dropped from the ratio objective, which OpenSLO allows only for thresholds) nothing
    about their budgeting method is left to refuse."""
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    text = text.replace("type: Any", "type: Prometheus").replace("query: Any", f"query: '{query}'")
    if "ratioMetric" in text:
        text = text.replace("      op: gt\n", "")
    result = load([_write(tmp_path, text)])
    assert result.problems == [], [str(p) for p in result.problems]
    (slo,) = result.slos
    assert slo.indicator == expected
    assert slo.period_seconds == 14 * 86400
