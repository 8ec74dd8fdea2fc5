"""The time-slice indicator of a native document (``spec.indicator.timeslices``) as a model
value, and the checks that tie its slice to the SLO's windows. Pure.

A window's error ratio is the mean badness of the slices in it (``avg_over_time`` of a
subquery stepped by the slice), so every tier window and the period must hold a whole number
of slices: otherwise a window would count a slice it only partly covers.
"""

from __future__ import annotations

from decimal import Decimal

from sloguard.durations import format_duration, parse_duration
from sloguard.errors import Problem
from sloguard.model import Tier, TimesliceIndicator
from sloguard.spec._native import TimeslicesSpec
from sloguard.spec._yaml import Doc, Path_

Query = tuple[Path_, str, bool]  # (path, PromQL text, whether it needs {{.window}})


def timeslice_indicator(ts: TimeslicesSpec, base: Path_) -> tuple[TimesliceIndicator, list[Query]]:
    """The indicator and the queries to check, located under ``base`` (the indicator)."""
    at: Path_ = (*base, "timeslices")
    seconds = parse_duration(ts.slice)
    if ts.threshold is not None:
        th = ts.threshold
        indicator = TimesliceIndicator(
            seconds, query=th.query, op=th.op, threshold=float(th.threshold)
        )
        return indicator, [((*at, "threshold", "query"), th.query, False)]
    assert ts.ratio is not None  # the schema guarantees exactly one
    target = None
    if ts.slice_target_percent is not None:  # exactly: 99.9 % is 0.999, not 0.9990000000000001
        target = float(Decimal(repr(float(ts.slice_target_percent))) / 100)
    indicator = TimesliceIndicator(
        seconds, errors=ts.ratio.errors, total=ts.ratio.total, slice_target=target
    )
    return indicator, [
        ((*at, "ratio", "errors"), ts.ratio.errors, True),
        ((*at, "ratio", "total"), ts.ratio.total, True),
    ]


def slice_problems(
    ind: TimesliceIndicator, tiers: tuple[Tier, ...], period_seconds: int, doc: Doc
) -> list[Problem]:
    """One located problem when a tier window or the period is not a whole number of slices."""
    tier_windows = {w for t in tiers for w in (t.long_seconds, t.short_seconds)}
    windows = sorted({period_seconds} | tier_windows)
    uneven = [w for w in windows if w % ind.slice_seconds]
    if not uneven:
        return []
    path: Path_ = ("spec", "indicator", "timeslices", "slice")
    shown = ", ".join(format_duration(w) for w in uneven)
    return [
        Problem(
            doc.key(path),
            f"{doc.display(path)}: slice {ind.slice} does not divide the window(s) {shown}: "
            "every alert window and the SLO window must hold whole slices (e.g. slice 1m or "
            "5m with the default tiers)",
            doc.display(path),
        )
    ]
