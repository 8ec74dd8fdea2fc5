"""The engine with a strict fake Source: planning, sharing, grouping and per-SLO failures."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard import rules
from sloguard.engine import PROBE, Engine, Recorded, bulk_query, evaluate_planned, group_expr
from sloguard.errors import QueryError, SourceUnavailable
from sloguard.model import SLO, LatencyIndicator, RawIndicator, Severity
from sloguard.ports import Sample
from tests.support.sources import (
    AT,
    DAY,
    RATIOS,
    FakeSource,
    RulesLoaded,
    ratio_slo,
    rules_info_answers,
)


def answers_for(slo: SLO, ratio: float, rate: float = 100.0) -> dict[str, list[Sample]]:
    """Every query of ``slo`` answered with one series: ``ratio`` and ``rate``."""
    p = Engine().plan([slo]).slos[0]
    out: dict[str, list[Sample]] = {q: [Sample({}, ratio)] for q in p.ratio.values()}
    out.update({q: [Sample({}, rate)] for q in p.total.values()})
    return out


def run(slos: list[SLO], source: FakeSource) -> list:  # type: ignore[type-arg]
    # Direct mode: these tests count the planned direct queries (recorded mode has its own).
    return asyncio.run(Engine().evaluate_all(slos, source, AT, recorded=False))


def test_one_slo_plans_a_ratio_and_a_total_per_window_and_period() -> None:
    p = Engine().plan([ratio_slo("a")])
    assert len(p.queries) == 16  # 7 windows + the 30d period, each ratio + total
    assert p.query_count == 1  # ... all sent as one combined query
    assert set(p.slos[0].ratio) == {300, 1800, 3600, 7200, 21600, 86400, 259200, 30 * DAY}


def test_identical_expressions_are_asked_once() -> None:
    slos = [ratio_slo("a"), ratio_slo("b"), ratio_slo("c", svc="search")]
    p = Engine().plan(slos)
    assert len(p.queries) == 32
    # a and b ask the very same queries, c's differ in svc only: all merged, sent as one
    assert p.query_count == 1
    source = FakeSource({**answers_for(slos[0], 0.0005), **answers_for(slos[2], 0.0005)})
    evs = run(slos, source)
    assert [e.slo for e in evs] == ["a", "b", "c"]
    assert len(source.asked) == 1
    assert {at for _, at in source.asked} == {AT}  # one pinned instant


def test_raw_indicator_has_no_total_queries() -> None:
    slo = SLO("r", "s", 99.9, 30 * DAY, RawIndicator("slo:ratio:rate{{.window}}"))
    assert len(Engine().plan([slo]).queries) == 8


def test_values_flow_into_the_burn_core() -> None:
    slo = ratio_slo("a")
    [ev] = run([slo], FakeSource(answers_for(slo, 0.02, rate=100.0)))
    assert ev.severity is Severity.SEV1
    assert ev.burn_rates[300] == pytest.approx(20.0)
    assert ev.error_budget_remaining == pytest.approx(1 - 20.0)
    assert ev.time_to_exhaustion_seconds == 0.0
    assert ev.error == ""


@pytest.mark.parametrize(
    ("failure", "text"),
    [
        pytest.param(SourceUnavailable("Prometheus x: HTTP 503 (query: q)"), "HTTP 503", id="503"),
        pytest.param(QueryError("bad_data: parse error"), "parse error", id="promql"),
        pytest.param(RuntimeError("kaboom"), "unexpected RuntimeError: kaboom", id="bug"),
    ],
)
def test_one_failing_query_fails_only_its_slo(failure: Exception, text: str) -> None:
    good, bad = ratio_slo("good"), ratio_slo("bad", svc="broken")
    answers: dict[str, list[Sample] | Exception] = {
        **answers_for(good, 0.0005),
        **answers_for(bad, 0.0005),
    }
    answers[Engine().plan([bad]).slos[0].ratio[3600]] = failure
    evs = run([good, bad], FakeSource(answers))
    assert [e.slo for e in evs] == ["good", "bad"]
    assert evs[0].severity is Severity.OK
    assert evs[0].error == ""
    assert evs[1].severity is Severity.NO_DATA
    assert evs[1].error.startswith("bad: ")
    assert text in evs[1].error


def test_several_series_where_one_was_expected_is_a_per_slo_error() -> None:
    slo = ratio_slo("a")
    answers: dict[str, list[Sample] | Exception] = dict(answers_for(slo, 0.0005))
    planned = Engine().plan([slo]).slos[0]
    answers[planned.ratio[300]] = [Sample({"pod": "p1"}, 0.1), Sample({"pod": "p2"}, 0.0)]
    answers[planned.total[300]] = [Sample({"pod": "p1"}, 1.0), Sample({"pod": "p2"}, 1.0)]
    [ev] = run([slo], FakeSource(answers))
    assert ev.severity is Severity.NO_DATA
    assert "returned 2 series where one was expected" in ev.error
    assert 'pod="p1"' in ev.error


def test_grouped_slo_gives_one_evaluation_per_group() -> None:
    slo = ratio_slo("api", group_by=("route",))
    p = Engine().plan([slo]).slos[0]
    assert all("sum by (route) (" in q for q in p.queries)
    answers: dict[str, list[Sample] | Exception] = {}
    for q in p.ratio.values():
        answers[q] = [Sample({"route": "/pay"}, 0.5), Sample({"route": "/home"}, 0.0001)]
    for q in p.total.values():
        answers[q] = [Sample({"route": "/pay"}, 10.0), Sample({"route": "/home"}, 10.0)]
    evs = run([slo], FakeSource(answers))
    assert [(e.slo, e.severity) for e in evs] == [
        ('api{route="/home"}', Severity.OK),
        ('api{route="/pay"}', Severity.SEV1),
    ]
    assert evs[1].labels == {"route": "/pay"}


def test_grouped_slo_without_series_is_one_no_data() -> None:
    slo = ratio_slo("api", group_by=("route",))
    answers: dict[str, list[Sample] | Exception] = {key: [] for key in Engine().plan([slo]).queries}
    [ev] = run([slo], FakeSource(answers))
    assert (ev.slo, ev.severity, ev.error) == ("api", Severity.NO_DATA, "")


def test_zero_traffic_is_no_data() -> None:
    slo = ratio_slo("a")
    [ev] = run([slo], FakeSource(answers_for(slo, float("nan"), rate=0.0)))
    assert ev.severity is Severity.NO_DATA
    assert ev.error == ""


@pytest.mark.parametrize(
    ("expr", "grouped"),
    [
        pytest.param("sum(rate(x[5m]))", "sum by (a, b) (rate(x[5m]))", id="plain"),
        pytest.param("sum (rate(x[5m]))", "sum by (a, b) (rate(x[5m]))", id="space"),
        pytest.param("sum by (a) (rate(x[5m]))", "sum by (a) (rate(x[5m]))", id="already-by"),
        pytest.param("sum(rate(x[5m])) by (a)", "sum(rate(x[5m])) by (a)", id="trailing-by"),
        pytest.param("sum without (pod) (x)", "sum without (pod) (x)", id="without"),
        pytest.param("sum_over_time(x[5m])", "sum_over_time(x[5m])", id="not-sum"),
        pytest.param(
            'sum(rate(x{path="sum(y)"}[5m]))',
            'sum by (a, b) (rate(x{path="sum(y)"}[5m]))',
            id="string-untouched",
        ),
        pytest.param(
            "(sum(rate(a[5m])) - sum(rate(b[5m]))) / sum(rate(c[5m]))",
            "(sum by (a, b) (rate(a[5m])) - sum by (a, b) (rate(b[5m]))) / "
            "sum by (a, b) (rate(c[5m]))",
            id="latency-shape",
        ),
    ],
)
def test_group_expr(expr: str, grouped: str) -> None:
    assert group_expr(expr, ("a", "b")) == grouped


def latency(threshold: float) -> SLO:
    return SLO(
        "lat",
        "s",
        99.0,
        30 * DAY,
        LatencyIndicator("http_request_duration_seconds", threshold, '{job="api"}'),
    )


@pytest.mark.parametrize(
    ("buckets", "text"),
    [
        pytest.param(["0.1", "0.25", "+Inf"], 'its buckets are le="0.1", le="0.25", le="+Inf"',
                     id="missing"),
        pytest.param(["0.1", "0.30", "+Inf"], 'writes the bucket as le="0.30"', id="spelling"),
    ],
)  # fmt: skip
def test_latency_slo_with_a_missing_bucket_is_an_error(buckets: list[str], text: str) -> None:
    slo = latency(0.3)
    p = Engine().plan([slo]).slos[0]
    assert p.bucket_check is not None
    assert 'http_request_duration_seconds_bucket{job="api"}' in p.bucket_check
    answers: dict[str, list[Sample] | Exception] = {key: [] for key in p.queries}
    answers[p.bucket_check] = [Sample({"le": le}, 1.0) for le in buckets]
    [ev] = run([slo], FakeSource(answers))
    assert ev.severity is Severity.NO_DATA
    assert text in ev.error


def test_latency_slo_with_its_bucket_is_evaluated() -> None:
    slo = latency(0.25)
    p = Engine().plan([slo]).slos[0]
    answers: dict[str, list[Sample] | Exception] = {q: [Sample({}, 0.001)] for q in p.queries}
    answers[p.bucket_check or ""] = [Sample({"le": le}, 1.0) for le in ("0.1", "0.25", "+Inf")]
    [ev] = run([slo], FakeSource(answers))
    assert (ev.severity, ev.error) == (Severity.OK, "")


@pytest.mark.parametrize(
    ("ratio", "rate", "severity", "error"),
    [
        pytest.param(float("inf"), 100.0, Severity.NO_DATA, "is inf: the errors query", id="inf"),
        pytest.param(float("-inf"), 100.0, Severity.NO_DATA, "is -inf", id="minus-inf"),
        pytest.param(float("nan"), 100.0, Severity.NO_DATA, "is NaN although", id="nan-traffic"),
        pytest.param(float("nan"), 0.0, Severity.NO_DATA, "", id="nan-zero-traffic"),
        pytest.param(0.5, float("nan"), Severity.NO_DATA, "total event rate", id="nan-total"),
    ],
)
def test_nan_and_inf_never_give_a_severity(
    ratio: float, rate: float, severity: Severity, error: str
) -> None:
    slo = ratio_slo("a")
    answers: dict[str, list[Sample] | Exception] = dict(answers_for(slo, 0.5, rate=rate))
    answers[Engine().plan([slo]).slos[0].ratio[300]] = [Sample({}, ratio)]
    [ev] = run([slo], FakeSource(answers))
    assert ev.severity is severity
    assert error in ev.error
    if error:
        assert ev.error.startswith("a: the ")
        assert "(query: " in ev.error
    else:
        assert ev.error == ""


# --------------------------------------------------------------------------- recorded series


def direct_queries(slos: list[SLO], windows: set[int]) -> set[str]:
    out: set[str] = set()
    for p in Engine().plan(slos).slos:
        out |= {q for w, q in p.ratio.items() if w in windows}
        out |= {q for w, q in p.total.items() if w in windows}
    return out


SHORT = {300, 1800, 3600}


@pytest.mark.parametrize(
    ("direct_max", "direct_windows", "probes"),
    [
        pytest.param(0, set(), 2, id="default-all-recorded"),
        pytest.param(3600, SHORT, 2, id="1h-sev1-windows-direct"),
        pytest.param(5400, SHORT, 2, id="90m-between-windows"),
        pytest.param(7200, SHORT | {7200}, 2, id="2h"),
        pytest.param(30 * DAY, set(RATIOS), 0, id="everything-direct-no-probe"),
    ],
)
def test_direct_windows_max_reads_short_windows_directly(
    direct_max: int, direct_windows: set[int], probes: int
) -> None:
    slos = [ratio_slo("a"), ratio_slo("b"), ratio_slo("c", svc="search")]
    source = RulesLoaded(slos)
    got = asyncio.run(
        Engine().evaluate_all(
            slos, source, AT, recorded=True, direct_windows_max_seconds=direct_max
        )
    )
    assert source.recorded_windows() == set(RATIOS) - direct_windows
    asked = source.direct()
    assert len(asked) == len(set(asked)), "a shared direct query is asked once"
    assert set(asked) == direct_queries(slos, direct_windows)  # a and b share theirs
    assert sum(q.startswith("group by") for q, _ in source.asked) == probes
    # The same numbers either way: identical evaluations to direct mode.
    direct = asyncio.run(Engine().evaluate_all(slos, RulesLoaded(slos), AT, recorded=False))
    assert [(e.slo, e.severity, dict(e.burn_rates), e.error_budget_remaining) for e in got] == [
        (e.slo, e.severity, dict(e.burn_rates), e.error_budget_remaining) for e in direct
    ]
    assert {e.severity for e in got} == {Severity.SEV1}


def test_recorded_off_sends_no_recorded_or_probe_query() -> None:
    slos = [ratio_slo("a"), ratio_slo("c", svc="search")]
    source = RulesLoaded(slos)
    asyncio.run(
        Engine().evaluate_all(slos, source, AT, recorded=False, direct_windows_max_seconds=3600)
    )
    assert source.asked, "it queried"
    assert [q for q, _ in source.asked if q.startswith(("max without", "group by"))] == []
    assert set(source.direct()) == direct_queries(slos, set(RATIOS))


def test_negative_direct_windows_max_is_refused() -> None:
    with pytest.raises(ValueError, match="direct_windows_max_seconds must be >= 0"):
        asyncio.run(
            Engine().evaluate_all(
                [ratio_slo("a")], FakeSource({}), AT, direct_windows_max_seconds=-1
            )
        )


class RecordedAsPrometheus(FakeSource):
    """The rules of ``slos`` loaded: each recorded name answers ``series(slo, window)`` for
    every SLO, with the labels the rules give it; ``max without (sloth_window)`` drops those
    two labels, as Prometheus does. The direct queries answer the same numbers."""

    def __init__(self, slos: list[SLO], series: Callable[[SLO, int], list[Sample]]) -> None:
        answers = rules_info_answers(slos)
        for s in slos:
            p = Engine().plan([s]).slos[0]
            answers |= {q: series(s, w) for w, q in p.ratio.items()}
            answers |= {
                q: [Sample(x.labels, 100.0) for x in series(s, w)] for w, q in p.total.items()
            }
        for w in RATIOS:
            for name, total in (
                (rules.ratio_series(w), False),
                (rules.TOTAL + rules.prom_duration(w), True),
            ):
                out = []
                for s in slos:
                    for x in series(s, w):
                        labels = {"sloth_id": rules.sloth_id(s), **s.labels, **x.labels}
                        out.append(Sample(labels, 100.0 if total else x.value))
                answers[bulk_query(name)] = out
        super().__init__(answers)


def _same(a: list, b: list) -> None:  # type: ignore[type-arg]
    assert [
        (e.slo, e.severity, dict(e.burn_rates), e.error_budget_remaining, e.error, e.labels)
        for e in a
    ] == [
        (e.slo, e.severity, dict(e.burn_rates), e.error_budget_remaining, e.error, e.labels)
        for e in b
    ]


def test_recorded_grouped_slos_equal_direct_mode() -> None:
    """A grouped SLO's recorded series keep their group labels: one evaluation per group, as
    in direct mode, next to ungrouped SLOs whose answers are reduced to one value."""
    slos = [
        ratio_slo("api", group_by=("route",), labels={"team": "pay"}),
        ratio_slo("a"),
        ratio_slo("b", svc="search"),
        ratio_slo("web", svc="web", group_by=("route",)),  # one group: one series
    ]

    def series(slo: SLO, w: int) -> list[Sample]:
        if not slo.group_by:
            return [Sample({}, RATIOS[w])]
        if slo.name == "web":
            return [Sample({"route": "/"}, RATIOS[w])]
        return [Sample({"route": "/pay"}, 0.5), Sample({"route": "/home"}, RATIOS[w] / 40)]

    source = RecordedAsPrometheus(slos, series)
    recorded = asyncio.run(Engine().evaluate_all(slos, source, AT))
    assert source.asked[0][0] == PROBE
    assert any(q.startswith("max without") for q, _ in source.asked)
    assert not [q for q, _ in source.asked if "rate(req" in q], "nothing was queried directly"
    direct = asyncio.run(
        Engine().evaluate_all(slos, RecordedAsPrometheus(slos, series), AT, recorded=False)
    )
    _same(recorded, direct)
    assert [(e.slo, e.severity) for e in recorded] == [
        ('api{route="/home"}', Severity.OK),
        ('api{route="/pay"}', Severity.SEV1),
        ("a", Severity.SEV1),
        ("b", Severity.SEV1),
        ('web{route="/"}', Severity.SEV1),
    ]


def test_recorded_several_series_for_an_ungrouped_slo_is_an_error_as_in_direct_mode() -> None:
    """Recorded series that keep a label the SLO does not group by (its queries sum by it) are
    several series for one SLO: the same error as the direct queries give."""
    slos = [ratio_slo("a"), ratio_slo("b", svc="search")]

    def series(slo: SLO, w: int) -> list[Sample]:
        if slo.name == "b":
            return [Sample({"pod": "p1"}, RATIOS[w]), Sample({"pod": "p2"}, RATIOS[w])]
        return [Sample({}, RATIOS[w])]

    recorded = asyncio.run(Engine().evaluate_all(slos, RecordedAsPrometheus(slos, series), AT))
    direct = asyncio.run(
        Engine().evaluate_all(slos, RecordedAsPrometheus(slos, series), AT, recorded=False)
    )
    assert [e.severity for e in recorded] == [Severity.SEV1, Severity.NO_DATA]
    assert "returned 2 series where one was expected" in recorded[1].error
    assert 'pod="p1"' in recorded[1].error
    assert '(query: slo:sli_error:ratio_rate5m{sloth_id="search-b"})' in recorded[1].error
    assert [(e.slo, e.severity) for e in recorded] == [(e.slo, e.severity) for e in direct]


def test_the_recorded_plan_is_kept_only_while_the_slos_and_the_rules_are_the_same() -> None:
    a, b = ratio_slo("a"), ratio_slo("b", svc="search")
    engine = Engine()  # one daemon's engine, across its ticks
    slos = [a, b]
    first = RulesLoaded(slos)
    asyncio.run(engine.evaluate_all(slos, first, AT))
    again = RulesLoaded(slos)
    asyncio.run(engine.evaluate_all(slos, again, AT))
    assert again.asked == first.asked, "same SLOs, same rules: the same plan"
    assert again.direct() == []
    # b's rules are gone: b is queried directly from now on.
    gone = RulesLoaded(slos)
    gone.answers[PROBE] = [x for x in gone.answers[PROBE] if x.labels["sloth_id"] != "search-b"]
    asyncio.run(engine.evaluate_all(slos, gone, AT))
    assert set(gone.direct()) == direct_queries([b], set(RATIOS))
    # b redefined (a reload brings new objects): its new definition is what is planned.
    b2 = ratio_slo("b", svc="shop")
    now = RulesLoaded([a, b2])
    now.answers[PROBE] = [x for x in now.answers[PROBE] if x.labels["sloth_id"] != "shop-b"]
    asyncio.run(engine.evaluate_all([a, b2], now, AT))
    assert set(now.direct()) == direct_queries([b2], set(RATIOS))


def test_two_engines_in_one_process_share_no_plans() -> None:
    """Each daemon's engine remembers its own plans: the same SLO objects planned by a second
    engine are planned afresh, directly and from recorded series."""
    slos = [ratio_slo("a"), ratio_slo("b", svc="search")]
    found = Recorded(frozenset({"a", "b"}), frozenset({"a"}))
    one, two = Engine(), Engine()
    first = one.plan(slos).slos
    assert all(map(operator.is_, one.plan(slos).slos, first)), "an engine reuses its plans"
    assert not any(map(operator.is_, two.plan(slos).slos, first))
    recorded = one.plan_recorded(slos, found).slos
    assert all(map(operator.is_, one.plan_recorded(slos, found).slos, recorded))
    assert not any(map(operator.is_, two.plan_recorded(slos, found).slos, recorded))
    assert two.plan_recorded(slos, found) == one.plan_recorded(slos, found)  # equal, not shared


def test_a_reloads_new_engine_starts_clean() -> None:
    """A reload builds a new engine: what the old one planned from the old rules is gone, and
    the new one asks Prometheus which rules run now."""
    slos = [ratio_slo("a"), ratio_slo("b", svc="search")]
    old = Engine()
    asyncio.run(old.evaluate_all(slos, RulesLoaded(slos), AT))
    gone = RulesLoaded(slos)
    gone.answers[PROBE] = [x for x in gone.answers[PROBE] if x.labels["sloth_id"] != "search-b"]
    new = Engine()
    asyncio.run(new.evaluate_all(slos, gone, AT))
    assert gone.asked[0][0] == PROBE
    assert set(gone.direct()) == direct_queries([slos[1]], set(RATIOS))
    assert not any(map(operator.is_, new.plan(slos).slos, old.plan(slos).slos))


_VALUE = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@settings(deadline=None)  # a loaded machine is not a failure
@given(values=st.lists(_VALUE, min_size=16, max_size=16))
def test_a_compact_recorded_answer_decodes_as_its_series(values: list[float | None]) -> None:
    """An ungrouped SLO's part of a recorded answer is kept as its one value (no labels); the
    one decode path reads it exactly as it reads that series, NaN and Inf included."""
    slo = ratio_slo("a")
    sp = Engine().plan_recorded([slo], Recorded(frozenset({"a"}), frozenset({"a"}))).slos[0]
    assert not sp.queries, "every window is read from recorded series"
    compact: dict[str, dict[str, list[Sample] | float]] = {}
    listed: dict[str, dict[str, list[Sample] | float]] = {}
    for name, value in zip(sp.series, values, strict=False):
        compact[name] = {} if value is None else {sp.sloth_id: value}
        listed[name] = {} if value is None else {sp.sloth_id: [Sample({"x": "y"}, value)]}
    got = evaluate_planned(sp, {}, AT, recorded=compact)
    assert got == evaluate_planned(sp, {}, AT, recorded=listed)
