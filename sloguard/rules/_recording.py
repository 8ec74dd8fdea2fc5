"""Recording rules: the error ratio of every window, the period ratio and the meta series. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from types import MappingProxyType

from sloguard.model import (
    SLO,
    WINDOW_PLACEHOLDER,
    LatencyIndicator,
    RatioIndicator,
    RawIndicator,
    Severity,
    TimesliceIndicator,
    render_window,
)
from sloguard.rules._rule import Rule
from sloguard.rules._text import (
    CURRENT_BURN,
    ERROR_BUDGET,
    ERRORS,
    HASH_LABEL,
    INFO,
    OBJECTIVE,
    PERIOD_BURN,
    PERIOD_REMAINING,
    RATIO,
    TIME_PERIOD,
    TOTAL,
    base_labels,
    budget_text,
    number,
    objective_text,
    prom_duration,
    selector,
    window_labels,
)


def recorded_windows(slo: SLO) -> tuple[int, ...]:
    """Every window that gets a ``slo:sli_error:ratio_rate<w>`` series, period included (not
    a calendar SLO's: a recording rule's range is fixed, the elapsed part of a period is not)."""
    if slo.calendar is not None:
        return tuple(sorted({*slo.window_seconds, base_window(slo)}))
    return tuple(sorted({*slo.window_seconds, base_window(slo), slo.period_seconds}))


def fast_windows(slo: SLO) -> tuple[int, ...]:
    """The windows whose recordings go in the SLO's fast group: the short window of every SEV1
    tier (5m by default), which decides when an SLO about to page joins the daemon's fast path.

    Not the long window: the fast path reads it from the raw counters every second, so its
    recording does not delay a page, and every rule evaluated every 15 s costs Prometheus four
    times its evaluations at 1m (what a rule costs is its count of evaluations, whatever its
    window: docs/benchmarks.md, "what each rule costs"). Not the period either."""
    sev1 = {t.short_seconds for t in slo.tiers if t.severity is Severity.SEV1}
    return tuple(sorted(w for w in recorded_windows(slo) if w in sev1 and w != slo.period_seconds))


SLOW_WINDOW_MIN_SECONDS = 6 * 3600
"""Windows at least this long (and the period) may go in the slow group: no page waits on
their recordings (6h: SEV2's long window, which the fast path reads from the raw counters, and
SEV3's short one; 1d and 3d: SEV3's long windows), and one slow interval is a small share of
them (a 2m interval is 0.6 % of 6h)."""


def slow_windows(slo: SLO) -> tuple[int, ...]:
    """The windows whose recordings go in the SLO's slow group: every recorded window of at
    least :data:`SLOW_WINDOW_MIN_SECONDS`, and the period (a month of samples summed, the
    costliest rule of all), unless the fast group records it."""
    fast = set(fast_windows(slo))
    return tuple(
        w
        for w in recorded_windows(slo)
        if w not in fast and (w >= SLOW_WINDOW_MIN_SECONDS or w == slo.period_seconds)
    )


def calendar_notes(slos: Iterable[SLO]) -> tuple[str, ...]:
    """Comment lines for a rule file with calendar SLOs: what their rules leave out, and why."""
    names = sorted(s.name for s in slos if s.calendar is not None)
    if not names:
        return ()
    return (
        f"Calendar SLOs ({', '.join(names)}): no period ratio, period burn or budget-remaining",
        "series, since a recording rule's range cannot follow the period start; sloguard reads",
        "the budget directly over the elapsed part of the period. The burn-rate alerts are whole.",
    )


def base_window(slo: SLO) -> int:
    """The shortest window: current burn rate and the base the period ratio is summed from."""
    return min(slo.window_seconds or (300,))


def sli_hash(slo: SLO) -> str:
    """Fingerprint of what the recorded ratios of ``slo`` mean; changes when they would."""
    ind = slo.indicator
    if isinstance(ind, RawIndicator):
        what: dict[str, object] = {"raw": ind.error_ratio}
    elif isinstance(ind, TimesliceIndicator):
        what = {"timeslices": ind.error_ratio(WINDOW_PLACEHOLDER)}
    else:
        what = {"errors": ind.errors, "total": ind.total}
    what |= {"windows": list(recorded_windows(slo)), "group_by": list(slo.group_by)}
    blob = json.dumps(what, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def sli_rules(slo: SLO, windows: Collection[int] | None = None) -> tuple[Rule, ...]:
    """The recording rules of ``windows`` (default: every recorded window), each window's rules
    together and in order, since the ratio reads the two rates recorded just before it."""
    ind = slo.indicator
    sel = selector(slo)
    rules: list[Rule] = []
    base = base_window(slo)
    for seconds in recorded_windows(slo):
        if windows is not None and seconds not in windows:
            continue
        w = prom_duration(seconds)
        labels = window_labels(slo, seconds)
        if seconds == slo.period_seconds and seconds != base:
            rules.append(Rule(record=f"{RATIO}{w}", expr=_period_expr(slo), labels=labels))
            continue
        if not slo.counts_events:  # raw and time-slice indicators: the error ratio alone
            expr = slo.error_ratio_query(w).strip() + "\n"
            rules.append(Rule(record=f"{RATIO}{w}", expr=expr, labels=labels))
            continue
        assert isinstance(ind, RatioIndicator | LatencyIndicator)
        rules.append(Rule(record=f"{TOTAL}{w}", expr=render_window(ind.total, w), labels=labels))
        # Client libraries create an error series on the first error: until then the errors
        # query is empty. With traffic that is 0 errors/s, not a gap (as the evaluator reads it).
        on = ", ".join(slo.group_by)
        errors = f"({render_window(ind.errors, w)})\nor on({on})\n0 * {TOTAL}{w}{sel}\n"
        rules.append(Rule(record=f"{ERRORS}{w}", expr=errors, labels=labels))
        # Rules of one group run in order at one timestamp, so these read the two just above.
        ratio = f"{ERRORS}{w}{sel}\n/\n{TOTAL}{w}{sel}\n"
        rules.append(Rule(record=f"{RATIO}{w}", expr=ratio, labels=labels))
    return tuple(rules)


def _period_expr(slo: SLO) -> str:
    return summed_ratio(slo, slo.period_seconds)


def summed_ratio(slo: SLO, seconds: int) -> str:
    """The error ratio over ``seconds`` (the period, or a day for the status page) from the
    base window's recorded series: summed event rates; without event counts (raw and
    time-slice indicators) Sloth's average of the base window's ratios: for time slices, the
    share of bad slices up to the edges of the range."""
    sel = selector(slo)
    base = prom_duration(base_window(slo))
    span = prom_duration(seconds)
    if not slo.counts_events:
        return (
            f"sum_over_time({RATIO}{base}{sel}[{span}])\n"
            f"/ ignoring (sloth_window)\n"
            f"count_over_time({RATIO}{base}{sel}[{span}])\n"
        )
    # Each base-window rate sample covers `base` seconds of events; with a fixed evaluation
    # interval every event is counted base/interval times in both sums, so the ratio is
    # (errors in the range) / (events in the range).
    return (
        f"sum_over_time({ERRORS}{base}{sel}[{span}])\n"
        f"/ ignoring (sloth_window)\n"
        f"sum_over_time({TOTAL}{base}{sel}[{span}])\n"
    )


def meta_rules(slo: SLO, mode: str) -> tuple[Rule, ...]:
    sel = selector(slo)
    labels = MappingProxyType(base_labels(slo))
    base = prom_duration(base_window(slo))
    period = prom_duration(slo.period_seconds)
    join = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    info = base_labels(slo) | {
        "sloth_mode": mode,
        "sloth_objective": number(slo.objective_percent),
        HASH_LABEL: sli_hash(slo),
    }
    period_rules = (
        Rule(
            record=PERIOD_BURN,
            expr=f"{RATIO}{period}{sel}\n{join}{ERROR_BUDGET}{sel}\n",
            labels=labels,
        ),
        Rule(record=PERIOD_REMAINING, expr=f"1 - {PERIOD_BURN}{sel}", labels=labels),
    )
    return (
        Rule(record=OBJECTIVE, expr=f"vector({objective_text(slo)})", labels=labels),
        Rule(record=ERROR_BUDGET, expr=f"vector({budget_text(slo)})", labels=labels),
        Rule(
            record=TIME_PERIOD,
            expr=f"vector({number(slo.period_seconds / 86400)})",
            labels=labels,
        ),
        Rule(
            record=CURRENT_BURN,
            expr=f"{RATIO}{base}{sel}\n{join}{ERROR_BUDGET}{sel}\n",
            labels=labels,
        ),
        *(period_rules if slo.calendar is None else ()),
        Rule(record=INFO, expr="vector(1)", labels=MappingProxyType(info)),
    )
