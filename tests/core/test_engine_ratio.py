"""An error ratio divided from its halves as PromQL's ``/`` divides them: which expressions
qualify, the labels matched one to one, and Go's float division (a zero divisor included)."""

from __future__ import annotations

import math

import pytest

from sloguard.engine._ratio import divide, one_per_labels
from sloguard.errors import QueryError
from sloguard.ports import Sample


@pytest.mark.parametrize(
    ("expr", "qualifies"),
    [
        pytest.param('sum(rate(req{code=~"5.."}[5m]))', True, id="sum"),
        pytest.param("sum by (route) (rate(req[5m]))", True, id="sum-by"),
        pytest.param("(sum(rate(c[5m])) - sum(rate(b[5m])))", True, id="latency-difference"),
        pytest.param("2 * sum(rate(c[5m]))", True, id="times-a-number"),
        pytest.param("rate(req[5m])", False, id="raw-series"),
        pytest.param("sum without (pod) (rate(req[5m]))", False, id="without"),
        pytest.param("sum(rate(a[5m])) or vector(0)", False, id="or"),
        pytest.param("sum(rate(a[5m])) - on() sum(rate(b[5m]))", False, id="on"),
        pytest.param("topk(1, rate(a[5m]))", False, id="topk"),
        pytest.param("1 + 2", False, id="numbers-only"),
        pytest.param("sum(", False, id="not-parsed"),
    ],
)
def test_which_halves_are_one_series_per_label_set(expr: str, qualifies: bool) -> None:
    assert one_per_labels(expr) is qualifies


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("errors", "total", "want"),
    [
        pytest.param(1.0, 4.0, 0.25, id="plain"),
        pytest.param(0.1, 0.3, 0.1 / 0.3, id="rounded-as-ieee"),
        pytest.param(0.0, 0.0, NAN, id="zero-over-zero"),
        pytest.param(1.0, 0.0, INF, id="positive-over-zero"),
        pytest.param(-1.0, 0.0, -INF, id="negative-over-zero"),
        pytest.param(1.0, -0.0, -INF, id="over-negative-zero"),
        pytest.param(NAN, 0.0, NAN, id="nan-over-zero"),
        pytest.param(1.0, NAN, NAN, id="over-nan"),
        pytest.param(INF, INF, NAN, id="inf-over-inf"),
    ],
)
def test_divide_as_go(errors: float, total: float, want: float) -> None:
    answer = divide([Sample({}, errors)], [Sample({}, total)])
    assert isinstance(answer, list)
    [got] = answer
    assert got.value == want or (math.isnan(want) and math.isnan(got.value))


def test_divide_matches_labels_one_to_one_in_the_errors_order() -> None:
    errors = [
        Sample({"route": "/b"}, 1.0),
        Sample({"route": "/a"}, 2.0),
        Sample({"route": "/c"}, 3.0),
    ]
    total = [Sample({"route": "/a"}, 4.0), Sample({"route": "/b"}, 2.0)]
    assert divide(errors, total) == [Sample({"route": "/b"}, 0.5), Sample({"route": "/a"}, 0.5)]


def test_divide_gives_either_half_s_failure() -> None:
    failed = QueryError("rejected")
    assert divide(failed, [Sample({}, 1.0)]) is failed
    assert divide([Sample({}, 1.0)], failed) is failed
    assert divide([], [Sample({}, 1.0)]) == []
