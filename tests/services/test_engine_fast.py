"""The recorded tick's fast path pinned to the readable one.

Fast: the Prometheus client reads each bulk recorded answer straight by ``sloth_id``
(``query_by_sloth_id``, no ``Sample`` per series) and an SLO read from plain numbers is
evaluated on floats (``_decode.evaluate_plain``), by a fresh engine and by one ticking on (its
memo). Readable: the same client's ``query`` (``parse_instant``), split by
``ports.by_sloth_id``, and ``evaluate_planned`` for every SLO. Both read the same JSON, so
they must say the very same thing (compared by ``repr``: NaN and -0.0 count).
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.parse

import httpx
import pytest

from sloguard import rules
from sloguard.burn import Evaluation
from sloguard.engine import Engine, bulk_query, combine, evaluate_planned
from sloguard.engine._ask import ask_all
from sloguard.engine._plan import at_instant
from sloguard.errors import QueryError, SloguardError
from sloguard.model import SLO
from sloguard.ports import Sample, Series, Source, by_sloth_id
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.prometheus.reachability import Reachability
from tests.support.edits import Edit, both, drop, keep, set_value, two_slos
from tests.support.sources import AT, RulesLoaded, rules_loaded_at

NEXT = AT + 30
FIVE_MINUTES = bulk_query(rules.ratio_series(300))
ONE_HOUR_TOTAL = bulk_query(rules.TOTAL + rules.prom_duration(3600))


def _every(value: float) -> Edit:
    """Every recorded number of every SLO moves (a rule evaluation landed)."""

    def edit(source: RulesLoaded) -> None:
        for query, samples in source.answers.items():
            if query.startswith("max without"):
                source.answers[query] = [Sample(s.labels, s.value * value) for s in samples]

    return edit


def _add(query: str, labels: dict[str, object], value: float = 0.5) -> Edit:
    """One more series in the answer ``query``."""

    def edit(source: RulesLoaded) -> None:
        source.answers[query] = [*source.answers[query], Sample(labels, value)]  # type: ignore[arg-type]

    return edit


def _fail(query: str) -> Edit:
    def edit(source: RulesLoaded) -> None:
        source.answers[query] = QueryError("execution: query timed out")  # type: ignore[assignment]

    return edit


CASES = [
    pytest.param("plain", keep, id="unchanged"),
    pytest.param("plain", _every(1.25), id="every-number-new"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", 0.5), id="5m-burns"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", math.nan), id="ratio-nan"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", math.inf), id="ratio-inf"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", -math.inf), id="ratio-minus-inf"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", -0.0), id="ratio-negative-zero"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", -0.01), id="ratio-negative"),
    pytest.param("plain", set_value(ONE_HOUR_TOTAL, "b", math.nan), id="total-nan"),
    pytest.param("plain", set_value(ONE_HOUR_TOTAL, "b", 0.0), id="traffic-stops"),
    pytest.param("min-events", set_value(ONE_HOUR_TOTAL, "b", 1.0), id="below-min-events"),
    pytest.param("plain", drop(FIVE_MINUTES, "b"), id="series-missing"),
    pytest.param(
        "plain", _add(FIVE_MINUTES, {"sloth_id": "checkout-b", "pod": "x"}), id="duplicate-series"
    ),
    pytest.param("plain", _add(FIVE_MINUTES, {"sloth_id": "other-slo"}), id="series-of-no-slo"),
    pytest.param("plain", _add(FIVE_MINUTES, {"pod": "x"}), id="series-without-sloth-id"),
    pytest.param(
        "plain", _add(FIVE_MINUTES, {"sloth_id": "other", "pod": 5}), id="label-not-a-string"
    ),
    pytest.param("plain", _fail(FIVE_MINUTES), id="query-failed"),
    pytest.param("grouped", keep, id="grouped"),
    pytest.param(
        "grouped",
        both(
            drop(FIVE_MINUTES, "b"),
            _add(FIVE_MINUTES, {"sloth_id": "checkout-b", "pod": "p1"}, 0.5),
            _add(FIVE_MINUTES, {"sloth_id": "checkout-b", "pod": "p2"}, math.nan),
        ),
        id="grouped-two-groups",
    ),
    pytest.param("calendar", keep, id="calendar"),
    pytest.param("calendar", set_value(FIVE_MINUTES, "b", 0.5), id="calendar-5m-burns"),
    pytest.param("timeslice", _every(0.5), id="time-slices"),
    pytest.param("tenant", _every(2.0), id="per-tenant"),
]


def _json_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _transport(source: RulesLoaded) -> httpx.MockTransport:
    """``source``'s answers as Prometheus's JSON (a failed query: Prometheus's 422)."""

    async def handle(request: httpx.Request) -> httpx.Response:
        form = urllib.parse.parse_qs(request.content.decode())
        expr, at = form["query"][0], float(form["time"][0])
        try:
            got = await source.query(expr, at)
        except SloguardError as exc:
            body = {"status": "error", "errorType": "execution", "error": str(exc)}
            return httpx.Response(422, json=body)
        result = [{"metric": dict(s.labels), "value": [at, _json_value(s.value)]} for s in got]
        data = {"resultType": "vector", "result": result}
        return httpx.Response(200, content=json.dumps({"status": "success", "data": data}))

    return httpx.MockTransport(handle)


class QueryOnly:
    """The client's :meth:`query` alone: a Source that is not a BulkSource."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner

    async def query(self, expr: str, at: float) -> list[Sample]:
        return await self.inner.query(expr, at)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        raise AssertionError("instant queries only")


async def _readable(slos: list[SLO], source: Source, at: float) -> list[Evaluation]:
    """The recorded tick the readable way: every answer parsed into samples, the recorded ones
    split by ``ports.by_sloth_id``, every SLO through ``evaluate_planned``."""
    engine = Engine()
    found = await engine.probe_recorded(slos, source, at)
    the_plan = combine(at_instant(sp, at) for sp in engine.plan_recorded(slos, found).slos)
    answers = await ask_all(the_plan.queries, source, at)
    sids = {sp.sloth_id: sp.sloth_id for sp in the_plan.slos if sp.recorded}
    grouped = {sp.sloth_id for sp in the_plan.slos if sp.recorded and sp.slo.group_by}
    bulk = await ask_all([bulk_query(n) for n in the_plan.recorded], source, at)
    recorded = {
        name: got if isinstance(got, SloguardError) else by_sloth_id(got, sids, grouped)
        for name, got in zip(the_plan.recorded, bulk.values(), strict=True)
    }
    return [e for sp in the_plan.slos for e in evaluate_planned(sp, answers, at, recorded=recorded)]


@pytest.mark.parametrize(("kind", "edit"), CASES)
def test_the_fast_path_says_what_the_readable_one_says(kind: str, edit: Edit) -> None:
    slos = two_slos(kind)
    source = rules_loaded_at(slos, (AT, NEXT))
    config = PrometheusConfig(url="http://prometheus.test")

    async def both() -> tuple[list[Evaluation], list[Evaluation], list[Evaluation]]:
        async with PrometheusClient(config, transport=_transport(source)) as client:
            ticking = Engine()
            await ticking.evaluate_all(slos, client, AT)
            edit(source)
            ticked = await ticking.evaluate_all(slos, client, NEXT)
            fresh = await Engine().evaluate_all(slos, client, NEXT)
            return ticked, fresh, await _readable(slos, QueryOnly(client), NEXT)

    ticked, fresh, readable = asyncio.run(both())
    assert [repr(e) for e in fresh] == [repr(e) for e in readable]
    assert [repr(e) for e in ticked] == [repr(e) for e in readable]


@pytest.mark.parametrize(
    ("status", "up"),
    [pytest.param(200, True, id="answered"), pytest.param(503, False, id="unreachable")],
)
def test_reachability_counts_a_bulk_query_as_a_query(status: int, up: bool) -> None:
    """The tick wraps its source in Reachability: a bulk query by sloth_id that reaches
    Prometheus (or does not) says so, as a plain query does."""
    data = {"resultType": "vector", "result": [{"metric": {"sloth_id": "a"}, "value": [1, "1"]}]}
    answer = httpx.Response(status, json={"status": "success", "data": data})
    config = PrometheusConfig(url="http://prometheus.test", retries=0)

    async def ask() -> tuple[bool, object]:
        async with PrometheusClient(config, transport=httpx.MockTransport(lambda _: answer)) as c:
            source = Reachability(c)
            try:
                got: object = await source.query_by_sloth_id("x", AT, {"a": "a"}, set())
            except SloguardError as exc:
                got = type(exc).__name__
            return source.up, got

    assert asyncio.run(ask()) == (up, {"a": 1.0} if up else "SourceUnavailable")
