"""One combined query per SLO (and one merged query for SLOs of one shape) decodes exactly
like one query per window did.

The same fake answers go to the plan as it is (merged and combined) and to the same plan asking
each query it sends on its own (:func:`tests.support.sources.one_by_one_asked`: a ratio as its
two halves, which real Prometheus compares with the ratio itself in
tests/integration/test_combined_queries.py); the evaluations must be equal, NaN and failures
included. The fake answers a union as Prometheus does: every part's series tagged, or the
failure of a failing part for the whole query.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.burn import Evaluation
from sloguard.engine import Engine, Plan, run
from sloguard.errors import QueryError, SourceUnavailable
from sloguard.model import SLO, LatencyIndicator, RawIndicator
from sloguard.ports import Sample
from tests.support.sources import AT, DAY, FakeSource, one_by_one_asked, ratio_slo

SLOS = [
    ratio_slo("plain"),
    ratio_slo("same-queries-as-plain"),
    ratio_slo("grouped", svc="search", group_by=("route",)),
    SLO("raw", "s", 99.9, 30 * DAY, RawIndicator("slo:ratio:rate{{.window}}")),
    SLO("lat", "s", 99.0, 30 * DAY, LatencyIndicator("http_seconds", 0.25, '{job="api"}')),
]
DOWN = SourceUnavailable("connection refused")  # Prometheus is down for the whole query


def _evaluate(plan: Plan, answers: dict[str, list[Sample] | Exception]) -> list[Evaluation]:
    source = FakeSource(answers)
    return asyncio.run(run(plan, source, AT))


def _answer(index: int) -> st.SearchStrategy[list[Sample] | Exception]:
    labels = st.sampled_from([{}, {"route": "/a"}, {"route": "/b"}, {"le": "0.25"}, {"x": "1"}])
    value = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 0.001, 100.0])
    series = st.lists(st.builds(Sample, labels, value), max_size=3)
    return st.one_of(series, series, st.just(QueryError(f"rejected {index}")))


@st.composite
def _answers(draw: st.DrawFn, plan: Plan) -> dict[str, list[Sample] | Exception]:
    """Each query's series or rejection; or Prometheus down for every query (it is down for a
    whole query, so a union cannot be half down)."""
    if draw(st.integers(0, 9)) == 0:
        return dict.fromkeys(plan.queries, DOWN)
    return {q: draw(_answer(i)) for i, q in enumerate(plan.queries)}


PLAN = Engine().plan(SLOS)


@settings(max_examples=100, deadline=None)
@given(answers=_answers(PLAN))
def test_combined_queries_decode_like_one_query_each(
    answers: dict[str, list[Sample] | Exception],
) -> None:
    assert repr(_evaluate(PLAN, answers)) == repr(_evaluate(one_by_one_asked(PLAN), answers))


@pytest.mark.parametrize(
    ("answer", "asked"),
    [
        pytest.param([Sample({}, 0.001)], 1, id="answered-one-query"),
        pytest.param(DOWN, 1, id="unavailable-not-asked-again"),
        pytest.param(QueryError("bad_data: expected vector"), 1 + 16, id="rejected-asked-each"),
    ],
)
def test_queries_per_slo_per_tick(answer: list[Sample] | Exception, asked: int) -> None:
    plan = Engine().plan([SLOS[0]])
    source = FakeSource(dict.fromkeys(plan.queries, answer))
    asyncio.run(Engine().evaluate_all([SLOS[0]], source, AT, recorded=False))
    assert len(source.asked) == asked
    assert plan.query_count == 1


def test_every_slo_asks_at_most_one_query_per_tick() -> None:
    for slo in SLOS:
        assert Engine().plan([slo]).query_count == 1, slo.name
    assert Engine().plan(SLOS).query_count == len(SLOS) - 1  # identical unions asked once


def test_an_answer_without_tags_is_asked_again_query_by_query() -> None:
    plan = Engine().plan([SLOS[0]])
    answers: dict[str, list[Sample] | Exception] = {q: [Sample({}, 0.0)] for q in plan.queries}
    untagged = {plan.asks[0].text: [Sample({}, 0.0)], **answers}  # not how Prometheus answers
    source = FakeSource(untagged)
    [ev] = asyncio.run(run(plan, source, AT))
    assert ev.error == ""
    assert len(source.asked) == 1 + 16
