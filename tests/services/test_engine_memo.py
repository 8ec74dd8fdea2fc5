"""The engine's memo of last evaluations (``Verdicts``): a daemon's engine, ticking on, gives
exactly the evaluations a fresh engine gives on the same answers, whether the numbers changed
since its last tick or not, for every kind of SLO the memo takes or leaves."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from sloguard import rules
from sloguard.burn import Evaluation
from sloguard.engine import Engine, bulk_query
from sloguard.model import SLO, TimesliceIndicator
from sloguard.periods import Calendar, CalendarUnit
from sloguard.ports import Sample
from tests.support.sources import AT, RulesLoaded, ratio_slo

NEXT = AT + 30  # the next tick
FIVE_MINUTES = bulk_query(rules.ratio_series(300))
ONE_HOUR_TOTAL = bulk_query(rules.TOTAL + rules.prom_duration(3600))

Edit = Callable[[RulesLoaded], None]


def _keep(source: RulesLoaded) -> None:
    """Nothing changed: a rule evaluation did not land between the two ticks."""


def _set(query: str, slo: str, value: float) -> Edit:
    """``slo``'s series in the recorded answer ``query`` now reads ``value``."""

    def edit(source: RulesLoaded) -> None:
        source.answers[query] = [
            Sample(s.labels, value) if s.labels.get("sloth_id") == f"checkout-{slo}" else s
            for s in source.answers[query]
        ]

    return edit


def _drop(query: str, slo: str) -> Edit:
    """``slo``'s series is gone from the recorded answer ``query``."""

    def edit(source: RulesLoaded) -> None:
        source.answers[query] = [
            s for s in source.answers[query] if s.labels.get("sloth_id") != f"checkout-{slo}"
        ]

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(source: RulesLoaded) -> None:
        for e in edits:
            e(source)

    return edit


def _slos(kind: str) -> list[SLO]:
    """Two SLOs, ``a`` plain and ``b`` of ``kind``."""
    b = ratio_slo("b")
    if kind == "grouped":
        b = ratio_slo("b", group_by=("pod",))
    elif kind == "calendar":
        b = replace(b, calendar=Calendar(CalendarUnit.MONTH))
    elif kind == "timeslice":
        b = replace(
            b, indicator=TimesliceIndicator(60, errors="sum(rate(e[1m]))", total="sum(rate(t[1m]))")
        )
    elif kind == "tenant":
        b = ratio_slo("b", tenant="team-b")
    return [ratio_slo("a"), b]


def _source(slos: list[SLO]) -> RulesLoaded:
    """Rules loaded for ``slos``; a calendar SLO's period, always asked directly over the
    elapsed part of its period, answered at both ticks."""
    source = RulesLoaded(slos)
    for slo in slos:
        if slo.calendar is None:
            continue
        for at in (AT, NEXT):
            (sp,) = Engine().plan([slo], at).slos
            source.answers[sp.ratio[slo.period_seconds]] = [Sample({}, 0.0005)]
            source.answers[sp.total[slo.period_seconds]] = [Sample({}, 100.0)]
    return source


def _seen(evaluations: list[Evaluation]) -> list[str]:
    """Everything an evaluation says, NaN and -0.0 included (``==`` would miss both)."""
    return [repr(e) for e in evaluations]


CASES = [
    pytest.param("plain", _keep, id="unchanged"),
    pytest.param("plain", _set(FIVE_MINUTES, "b", 0.5), id="5m-burns-now"),
    pytest.param("plain", _set(ONE_HOUR_TOTAL, "b", 0.0), id="traffic-stops"),
    pytest.param("plain", _set(FIVE_MINUTES, "b", math.nan), id="ratio-turns-nan"),
    pytest.param("plain", _set(FIVE_MINUTES, "b", math.inf), id="ratio-turns-inf"),
    pytest.param("plain", _drop(FIVE_MINUTES, "b"), id="series-goes-missing"),
    pytest.param("plain", _set(FIVE_MINUTES, "b", -0.0), id="ratio-turns-negative-zero"),
    pytest.param("grouped", _keep, id="grouped-unchanged"),
    pytest.param("grouped", _set(FIVE_MINUTES, "b", 0.5), id="grouped-changed"),
    pytest.param("calendar", _keep, id="calendar-unchanged"),
    pytest.param("timeslice", _keep, id="timeslice-unchanged"),
    pytest.param("timeslice", _set(FIVE_MINUTES, "b", 0.5), id="timeslice-changed"),
    pytest.param("tenant", _keep, id="tenant-unchanged"),
    pytest.param("tenant", _set(FIVE_MINUTES, "b", 0.5), id="tenant-changed"),
]


@pytest.mark.parametrize(("kind", "edit"), CASES)
def test_a_ticking_engine_evaluates_as_a_fresh_one(kind: str, edit: Edit) -> None:
    slos = _slos(kind)
    source = _source(slos)
    engine = Engine()
    asyncio.run(engine.evaluate_all(slos, source, AT))
    edit(source)

    ticked = asyncio.run(engine.evaluate_all(slos, source, NEXT))
    fresh = asyncio.run(Engine().evaluate_all(slos, source, NEXT))

    assert _seen(ticked) == _seen(fresh)
    assert all(e.at == NEXT for e in ticked)


@pytest.mark.parametrize(
    ("edit", "kept"),
    [
        pytest.param(_keep, True, id="same-numbers-kept"),
        pytest.param(_set(FIVE_MINUTES, "a", 0.0004), False, id="new-number-made-afresh"),
        pytest.param(
            _both(_set(FIVE_MINUTES, "a", 0.5), _set(FIVE_MINUTES, "a", 0.02)),
            True,
            id="same-number-new-objects-kept",
        ),
    ],
)
def test_the_memo_keeps_an_evaluation_only_for_the_same_numbers(edit: Edit, kept: bool) -> None:
    """The memo is taken (the tier decisions are the very objects of the last tick) only when
    the numbers are the same; the cases above show it never changes what is said."""
    slos = [ratio_slo("a")]
    source = RulesLoaded(slos)
    engine = Engine()
    (before,) = asyncio.run(engine.evaluate_all(slos, source, AT))
    edit(source)
    (after,) = asyncio.run(engine.evaluate_all(slos, source, NEXT))
    assert (after.tiers is before.tiers) is kept
    assert after.at == NEXT
