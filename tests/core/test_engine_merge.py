"""Which queries of a fleet the engine merges into one, the merged text, why a shape is
refused, the regex escaping, and the split of a merged answer back into each query's."""

from __future__ import annotations

import pytest

from sloguard.engine._merge import (
    MAX_MERGED_VALUES,
    Merged,
    Merges,
    merge,
    quote_meta,
    split,
    unions,
)
from sloguard.engine._shape import check
from sloguard.errors import QueryError
from sloguard.ports import Sample

RATIO = (
    '(sum(rate(req{job="api",svc="{v}",code=~"5.."}[5m])))\n/\n'
    '(sum(rate(req{job="api",svc="{v}"}[5m])))'
)


def _of(template: str, *values: str) -> list[tuple[str, str | None]]:
    return [(template.replace("{v}", v), None) for v in values]


@pytest.mark.parametrize(
    ("queries", "label", "text", "keeps_label"),
    [
        pytest.param(
            _of(RATIO, "a", "b"),
            "svc",
            '(sum by (svc)(rate(req{job="api",svc=~"a|b",code=~"5.."}[5m])))\n/\n'
            '(sum by (svc)(rate(req{job="api",svc=~"a|b"}[5m])))',
            False,
            id="ratio-per-service",
        ),
        pytest.param(
            _of('sum by (route) (rate(req{svc="{v}"}[1h]))', "a", "b"),
            "svc",
            'sum by (route, svc) (rate(req{svc=~"a|b"}[1h]))',
            False,
            id="grouped-by-another-label",
        ),
        pytest.param(
            _of('sum by (svc) (rate(req{svc="{v}"}[1h]))', "a", "b"),
            "svc",
            'sum by (svc) (rate(req{svc=~"a|b"}[1h]))',
            True,
            id="grouped-by-the-label-keeps-it",
        ),
        pytest.param(
            _of('sum(increase(req{svc="{v}"}[1h])) by (route)', "a", "b"),
            "svc",
            'sum(increase(req{svc=~"a|b"}[1h])) by (route, svc)',
            False,
            id="trailing-by",
        ),
        pytest.param(
            _of('count by (le) (last_over_time(h_bucket{svc="{v}"}[1h]))', "a", "b"),
            "svc",
            'count by (le, svc) (last_over_time(h_bucket{svc=~"a|b"}[1h]))',
            False,
            id="bucket-check",
        ),
        pytest.param(
            _of('sum(rate(req{svc="{v}"}[5m])) > bool 0', "a.v1", "b|c", "(d)"),
            "svc",
            r'sum by (svc)(rate(req{svc=~"a\\.v1|b\\|c|\\(d\\)"}[5m])) > bool 0',
            False,
            id="regex-escaped",
        ),
    ],
)
def test_same_shape_queries_are_merged(
    queries: list[tuple[str, str | None]], label: str, text: str, keeps_label: bool
) -> None:
    (merged,) = merge(queries)
    assert merged.text == text
    assert (merged.label, merged.keeps_label) == (label, keeps_label)
    assert list(merged.parts.values()) == [q for q, _ in queries]


@pytest.mark.parametrize(
    "queries",
    [
        pytest.param(_of(RATIO, "a"), id="one-slo"),
        pytest.param(
            [(RATIO.replace("{v}", "a"), "team-a"), (RATIO.replace("{v}", "b"), "team-b")],
            id="two-tenants",
        ),
        pytest.param(_of('sum(rate(req{svc="{v}"}[5m]))', 'a\\"b', "c"), id="escaped-value"),
        pytest.param(_of('sum(rate(req{svc="{v}"}[5m]))', "", "c"), id="empty-value"),
        pytest.param(_of('sum(rate(req{svc="{v}",svc!="x"}[5m]))', "a", "c"), id="other-op-too"),
        pytest.param(
            _of('sum(rate(a{svc="{v}"}[5m])) / sum(rate(b[5m]))', "a", "c"),
            id="a-selector-without-it",
        ),
        pytest.param(
            _of('avg_over_time((sum(rate(req{svc="{v}"}[5m])) > 0)[1h:5m])', "a", "b"),
            id="subquery",
        ),
        pytest.param(_of('sum without (pod) (rate(req{svc="{v}"}[5m]))', "a", "b"), id="without"),
        pytest.param(
            _of('label_replace(sum(rate(req{svc="{v}"}[5m])), "x", "y", "", "")', "a", "b"),
            id="label-replace",
        ),
        pytest.param(_of('topk(1, rate(req{svc="{v}"}[5m]))', "a", "b"), id="topk"),
    ],
)
def test_other_queries_are_not_merged(queries: list[tuple[str, str | None]]) -> None:
    assert merge(queries) == ()


@pytest.mark.parametrize(
    ("original", "refused"),
    [
        pytest.param('sum(rate(req{svc="a"}[5m]))', "", id="recognised"),
        pytest.param(
            'vector(1) + sum(rate(req{svc="a"}[5m]))', "vector() is not merged", id="vector"
        ),
        pytest.param(
            'sum(rate(req{svc="a"}[5m])) / on() sum(rate(req{svc="a"}[1h]))',
            "on/ignoring/group_left/group_right is not merged",
            id="on",
        ),
        pytest.param(
            'sum(rate(req{svc="a"}[5m])) / rate(req{svc="a"}[5m])',
            "one side carries svc, the other does not",
            id="sides-differ",
        ),
        pytest.param(
            'sum(rate(req{svc="a"}[5m] @ 100))', "a selector with @ is not merged", id="at"
        ),
        pytest.param('quantile(0.5, rate(req{svc="a"}[5m]))', "quantile is not merged", id="param"),
    ],
)
def test_check_says_why_a_shape_is_refused(original: str, refused: str) -> None:
    merged = original.replace('svc="a"', 'svc=~"a|b"').replace("sum(", "sum by (svc) (")
    assert check(original, merged, "svc", "a", "a|b").refused == refused


def test_a_merged_text_that_differs_elsewhere_is_refused() -> None:
    original = 'sum(rate(req{svc="a"}[5m]))'
    assert check(original, 'sum by (svc) (rate(req{svc=~"a|b"}[1h]))', "svc", "a", "a|b").refused


@pytest.mark.parametrize(
    ("value", "regex"),
    [
        pytest.param("checkout", "checkout", id="plain"),
        pytest.param("api-v1_x", "api-v1_x", id="dash-underscore-unescaped"),
        pytest.param("a.b", r"a\.b", id="dot"),
        pytest.param("a|b", r"a\|b", id="pipe"),
        pytest.param("x+*?()[]{}^$", r"x\+\*\?\(\)\[\]\{\}\^\$", id="all-meta"),
    ],
)
def test_quote_meta_as_go(value: str, regex: str) -> None:
    assert quote_meta(value) == regex


def test_merged_queries_hold_at_most_max_values() -> None:
    queries = _of('sum(rate(req{svc="{v}"}[5m]))', *(f"s{i}" for i in range(MAX_MERGED_VALUES + 1)))
    merged = merge(queries)
    assert [len(m.parts) for m in merged] == [MAX_MERGED_VALUES]  # the last one alone: as before


M = Merged("merged", "svc", {"a": "qa", "b": "qb", "c": "qc"}, keeps_label=False)


def test_split_gives_each_value_its_series_and_a_missing_one_none() -> None:
    got = split(M, [Sample({"svc": "b", "route": "/x"}, 2.0), Sample({"svc": "a"}, 1.0)])
    assert got == {"qa": [Sample({}, 1.0)], "qb": [Sample({"route": "/x"}, 2.0)], "qc": []}


def test_split_keeps_the_label_where_the_queries_have_it() -> None:
    keeps = Merged("merged", "svc", {"a": "qa"}, keeps_label=True)
    assert split(keeps, [Sample({"svc": "a"}, 1.0)]) == {"qa": [Sample({"svc": "a"}, 1.0)]}


@pytest.mark.parametrize(
    "labels",
    [pytest.param({"svc": "d"}, id="not-asked"), pytest.param({}, id="without-label")],
)
def test_split_refuses_a_series_of_no_value(labels: dict[str, str]) -> None:
    with pytest.raises(QueryError, match="no svc asked"):
        split(M, [Sample(labels, 1.0)])


def test_merges_remembers_the_answer_for_the_same_queries() -> None:
    merges = Merges()
    fleet, other = _of(RATIO, "a", "b"), _of(RATIO, "a", "c")
    first = merges(fleet)
    assert merges(list(fleet)) is first  # a daemon's next tick: no second look at the shapes
    assert merges(other) != first
    assert merges(iter(fleet)) is first


def test_the_merged_queries_of_the_same_slos_go_out_together_up_to_500_slos_worth() -> None:
    values = [f"s{i}" for i in range(MAX_MERGED_VALUES)]
    parts = {v: f"q{v}" for v in values}
    windows = [Merged(f"w{i}", "svc", parts, keeps_label=False) for i in range(32)]
    others = [Merged("x", "svc", {"a": "qa", "b": "qb"}, keeps_label=False)]
    got = unions([*windows, *others])
    assert got == [[f"w{i}" for i in range(16)], [f"w{i}" for i in range(16, 32)], ["x"]]
