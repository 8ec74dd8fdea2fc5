"""The engine's memo of last evaluations (``Verdicts``): a daemon's engine, ticking on, gives
exactly the evaluations a fresh engine gives on the same answers, whether the numbers changed
since its last tick or not, for every kind of SLO the memo takes or leaves."""

from __future__ import annotations

import asyncio
import math

import pytest

from sloguard import rules
from sloguard.burn import Evaluation
from sloguard.engine import Engine, bulk_query
from tests.support.edits import Edit, both, drop, keep, set_value, two_slos
from tests.support.sources import AT, RulesLoaded, ratio_slo, rules_loaded_at

NEXT = AT + 30  # the next tick
FIVE_MINUTES = bulk_query(rules.ratio_series(300))
ONE_HOUR_TOTAL = bulk_query(rules.TOTAL + rules.prom_duration(3600))


def _seen(evaluations: list[Evaluation]) -> list[str]:
    """Everything an evaluation says, NaN and -0.0 included (``==`` would miss both)."""
    return [repr(e) for e in evaluations]


CASES = [
    pytest.param("plain", keep, id="unchanged"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", 0.5), id="5m-burns-now"),
    pytest.param("plain", set_value(ONE_HOUR_TOTAL, "b", 0.0), id="traffic-stops"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", math.nan), id="ratio-turns-nan"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", math.inf), id="ratio-turns-inf"),
    pytest.param("plain", drop(FIVE_MINUTES, "b"), id="series-goes-missing"),
    pytest.param("plain", set_value(FIVE_MINUTES, "b", -0.0), id="ratio-turns-negative-zero"),
    pytest.param("grouped", keep, id="grouped-unchanged"),
    pytest.param("grouped", set_value(FIVE_MINUTES, "b", 0.5), id="grouped-changed"),
    pytest.param("calendar", keep, id="calendar-unchanged"),
    pytest.param("timeslice", keep, id="timeslice-unchanged"),
    pytest.param("timeslice", set_value(FIVE_MINUTES, "b", 0.5), id="timeslice-changed"),
    pytest.param("tenant", keep, id="tenant-unchanged"),
    pytest.param("tenant", set_value(FIVE_MINUTES, "b", 0.5), id="tenant-changed"),
]


@pytest.mark.parametrize(("kind", "edit"), CASES)
def test_a_ticking_engine_evaluates_as_a_fresh_one(kind: str, edit: Edit) -> None:
    slos = two_slos(kind)
    source = rules_loaded_at(slos, (AT, NEXT))
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
        pytest.param(keep, True, id="same-numbers-kept"),
        pytest.param(set_value(FIVE_MINUTES, "a", 0.0004), False, id="new-number-made-afresh"),
        pytest.param(
            both(set_value(FIVE_MINUTES, "a", 0.5), set_value(FIVE_MINUTES, "a", 0.02)),
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
