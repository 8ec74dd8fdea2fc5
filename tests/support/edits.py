"""Edits of the recorded answers a :class:`~tests.support.sources.RulesLoaded` gives between two
ticks, and the pairs of SLOs the engine's memo and fast-path tables run them over: one home for
tests/services/test_engine_memo.py and test_engine_fast.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sloguard.model import SLO, TimesliceIndicator
from sloguard.periods import Calendar, CalendarUnit
from sloguard.ports import Sample
from tests.support.sources import RulesLoaded, ratio_slo

Edit = Callable[[RulesLoaded], None]


def keep(source: RulesLoaded) -> None:
    """Nothing changed: a rule evaluation did not land between the two ticks."""


def set_value(query: str, slo: str, value: float) -> Edit:
    """``slo``'s series in the recorded answer ``query`` now reads ``value``."""

    def edit(source: RulesLoaded) -> None:
        source.answers[query] = [
            Sample(s.labels, value) if s.labels.get("sloth_id") == f"checkout-{slo}" else s
            for s in source.answers[query]
        ]

    return edit


def drop(query: str, slo: str) -> Edit:
    """``slo``'s series is gone from the recorded answer ``query``."""

    def edit(source: RulesLoaded) -> None:
        source.answers[query] = [
            s for s in source.answers[query] if s.labels.get("sloth_id") != f"checkout-{slo}"
        ]

    return edit


def both(*edits: Edit) -> Edit:
    """Every one of ``edits``, in order."""

    def edit(source: RulesLoaded) -> None:
        for e in edits:
            e(source)

    return edit


def two_slos(kind: str) -> list[SLO]:
    """Two SLOs, ``a`` plain and ``b`` of ``kind`` (plain, grouped, calendar, timeslice, tenant,
    min-events)."""
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
    elif kind == "min-events":
        b = replace(b, min_events=500_000)
    return [ratio_slo("a"), b]
