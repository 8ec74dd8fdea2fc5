"""Error ratios -> burn rates -> tier decisions -> severity. Pure: no I/O, time is an argument.

The multi-window, multi-burn-rate rule of the SRE Workbook ("Alerting on SLOs"): a tier fires
when *both* its long and its short window burn faster than ``tier.factor(period)``.

No data is explicit. A window has no data when Prometheus returned no series, NaN or Inf, or
fewer events than the SLO's ``min_events``. A tier is

* firing  - both windows known and above the factor,
* clear   - at least one window known and at or below the factor (both are required to fire),
* unknown - otherwise.

The severity is the highest firing tier; with none firing it is NO_DATA when any tier is
unknown, else OK. A gap in the data is therefore never read as healthy, nor as a 100 % error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from sloguard.durations import format_duration
from sloguard.model import SLO, Severity, Tier
from sloguard.periods import period_length_seconds


@dataclass(frozen=True, slots=True)
class WindowReading:
    """What Prometheus said about one window at one instant.

    ``error_ratio`` is None when there was no series, or NaN/Inf. ``events`` is the number of
    events in the window (total rate x window seconds); None when the indicator cannot tell
    (raw indicators), in which case ``min_events`` does not apply.
    """

    error_ratio: float | None
    events: float | None = None


NO_READING = WindowReading(None, None)


class TierState(StrEnum):
    FIRING = "firing"
    CLEAR = "clear"
    UNKNOWN = "unknown"


class TierDecision(NamedTuple):
    """One tier's verdict at one instant: its factor, both windows' burn rates, its state.

    A named tuple rather than a frozen dataclass: as immutable, and four are made per SLO per
    tick (40,000 at 10,000 SLOs), where a frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field) cost about three times as much."""

    tier: Tier
    factor: float
    long_burn_rate: float | None
    short_burn_rate: float | None
    state: TierState


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The verdict on one SLO (or one group of a grouped SLO) at one instant."""

    slo: str
    at: float
    severity: Severity
    burn_rates: Mapping[int, float | None]  # by window seconds, shortest first
    error_budget_remaining: float | None
    time_to_exhaustion_seconds: float | None
    tiers: tuple[TierDecision, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    error: str = ""

    @property
    def firing(self) -> tuple[TierDecision, ...]:
        return tuple(d for d in self.tiers if d.state is TierState.FIRING)

    def burn_rates_by_name(self) -> dict[str, float | None]:
        """The burn rates as people and payloads read them, keyed "5m", "1h", ... (same order)."""
        return {format_duration(w): rate for w, rate in self.burn_rates.items()}


def usable_ratio(value: float | None) -> float | None:
    """None for missing, NaN or infinite values; negative ratios (counter glitches) clamp to 0."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return max(value, 0.0)


# The members read for every tier of every SLO each tick, as module globals: an Enum's member
# read off its class costs about 95 ns in Python 3.11, a global about 6 (eight reads per SLO).
_FIRING, _CLEAR, _UNKNOWN = TierState.FIRING, TierState.CLEAR, TierState.UNKNOWN
_OK, _NO_DATA = Severity.OK, Severity.NO_DATA


def decide_tier(tier: Tier, factor: float, long: float | None, short: float | None) -> TierState:
    if long is not None and short is not None and long > factor and short > factor:
        return _FIRING
    if (long is not None and long <= factor) or (short is not None and short <= factor):
        return _CLEAR
    return _UNKNOWN


def severity_of(decisions: tuple[TierDecision, ...]) -> Severity:
    """The highest firing tier; with none firing, NO_DATA when any tier is unknown, else OK."""
    worst: Severity | None = None
    unknown = False
    for d in decisions:  # one pass: every SLO, every tick
        state = d.state
        if state is _FIRING:
            if worst is None or d.tier.severity > worst:
                worst = d.tier.severity
        elif state is _UNKNOWN:
            unknown = True
    if worst is not None:
        return worst
    return _NO_DATA if unknown else _OK


def budget_remaining(slo: SLO, period: WindowReading, at: float) -> float | None:
    """1 - (error ratio over the SLO period / budget). Negative once the budget is overspent.

    For a calendar SLO ``period`` reads the elapsed part of the current period, and the ratio
    spends budget in proportion to that part: the whole period's budget is the budget ratio
    times the events the period will have at the traffic seen so far.
    """
    ratio = usable_ratio(period.error_ratio)
    if ratio is None or (period.events is not None and period.events <= 0):
        return None
    return 1.0 - ratio / slo.budget * slo.budget_share(at)


@dataclass(frozen=True, slots=True)
class StepReading:
    """One step of a calendar period: the error ratio over the ``seconds`` before ``at``, and
    the event rate over them (None when the indicator has no event counts: time slices, raw
    ratios, whose steps then weigh by their length)."""

    at: float
    seconds: float
    error_ratio: float
    rate: float | None = None


def period_budget_line(
    slo: SLO, since: float, steps: Sequence[StepReading]
) -> tuple[tuple[float, float], ...]:
    """A calendar SLO's budget left at the end of each step of the period starting at
    ``since``, the steps tiling it from its start in order. The period's error ratio so far is
    the running sum of the steps' errors over that of their events, spent as
    :func:`budget_remaining` spends it. Range queries cannot follow a period start; this reads
    the same budget from windows of one fixed length (``periods.StepRange``)."""
    if slo.calendar is None or slo.budget <= 0:
        return ()
    length = period_length_seconds(slo.calendar, since)
    errors = events = 0.0
    out: list[tuple[float, float]] = []
    for step in steps:
        weight = step.seconds * (1.0 if step.rate is None else step.rate)
        if math.isfinite(step.error_ratio) and math.isfinite(weight) and weight > 0:
            errors += max(step.error_ratio, 0.0) * weight
            events += weight
        if events > 0:
            left = 1.0 - errors / events / slo.budget * (step.at - since) / length
            out.append((step.at, left))
    return tuple(out)


def time_to_exhaustion(
    slo: SLO, remaining: float | None, current_burn: float | None, at: float
) -> float | None:
    """Seconds until the budget is gone at the current burn: remaining x period / burn (the
    current calendar period's real length for a calendar SLO; the result may lie beyond the
    period's end, where the budget resets first).

    0 when already exhausted; None when unknown or when nothing burns (never exhausted).
    """
    if remaining is None or current_burn is None:
        return None
    if remaining <= 0:
        return 0.0
    if current_burn <= 0:
        return None
    return remaining * slo.exhaustion_period_seconds(at) / current_burn


def evaluate(
    slo: SLO,
    readings: Mapping[int, WindowReading],
    period: WindowReading | None,
    at: float,
    *,
    key: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Evaluation:
    """Classify one SLO from its window readings (keyed by window seconds) at instant ``at``.

    The current burn for the time to exhaustion is the shortest window that has data.
    """
    ratios = {w: r.error_ratio for w, r in readings.items()}
    events = {w: r.events for w, r in readings.items()}
    return evaluate_numbers(slo, ratios, events, period, at, key=key, labels=labels)


def evaluate_numbers(
    slo: SLO,
    ratios: Mapping[int, float | None],
    events: Mapping[int, float | None],
    period: WindowReading | None,
    at: float,
    *,
    key: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Evaluation:
    """:func:`evaluate` from each window's error ratio and events (keyed by window seconds; a
    window missing from ``ratios`` has no reading, one missing from ``events`` unknown
    events): the same evaluation without a :class:`WindowReading` per window, for a fleet's
    tick (at 10,000 SLOs, 80,000 readings)."""
    period_seconds, budget, min_events = slo.period_seconds, slo.budget, slo.min_events
    get_ratio, get_events, isfinite = ratios.get, events.get, math.isfinite
    burns: dict[int, float | None] = {}
    current: float | None = None  # the shortest window's burn that is known (windows ascend)
    for w in slo.window_seconds:
        # A window counts when it has a usable ratio and, if events are known, traffic of at
        # least min_events (zero traffic is 0/0, not a healthy 0 % error): burn = ratio / budget.
        ratio, count = get_ratio(w), get_events(w)
        if (
            ratio is None
            or not isfinite(ratio)
            or (count is not None and (count <= 0 or count < min_events))
        ):
            burns[w] = None
            continue
        # max(ratio, 0.0), which keeps a ratio of -0.0 as it is, without the call.
        burn = (ratio if ratio >= 0.0 else 0.0) / budget
        burns[w] = burn
        if current is None:
            current = burn
    tiers: list[TierDecision] = []
    for t in slo.tiers:
        long, short, f = burns[t.long_seconds], burns[t.short_seconds], t.factor(period_seconds)
        tiers.append(TierDecision(t, f, long, short, decide_tier(t, f, long, short)))
    decisions = tuple(tiers)
    remaining = budget_remaining(slo, period, at) if period is not None else None
    return Evaluation(
        slo=key or slo.name,
        at=at,
        severity=severity_of(decisions),
        burn_rates=MappingProxyType(burns),
        error_budget_remaining=remaining,
        time_to_exhaustion_seconds=time_to_exhaustion(slo, remaining, current, at),
        tiers=decisions,
        labels=MappingProxyType(dict(labels)) if labels else _NO_LABELS,
    )


def with_budget(slo: SLO, ev: Evaluation, remaining: float) -> Evaluation:
    """``ev`` with a budget read another way (a calendar SLO's in the backtest, summed step by
    step) and the time to exhaustion that follows from it at the current burn."""
    current = next((b for b in ev.burn_rates.values() if b is not None), None)  # windows ascend
    tte = time_to_exhaustion(slo, remaining, current, ev.at)
    return replace(ev, error_budget_remaining=remaining, time_to_exhaustion_seconds=tte)


_NO_LABELS: Mapping[str, str] = MappingProxyType({})  # shared by every ungrouped evaluation


def failed(slo: SLO, at: float, error: str, *, key: str | None = None) -> Evaluation:
    """An evaluation that could not be made (Prometheus down, query error): NO_DATA, with why."""
    return Evaluation(
        slo=key or slo.name,
        at=at,
        severity=Severity.NO_DATA,
        burn_rates=MappingProxyType(dict.fromkeys(slo.window_seconds)),
        error_budget_remaining=None,
        time_to_exhaustion_seconds=None,
        error=error,
    )


def gap(key: str, at: float, error: str) -> Evaluation:
    """NO_DATA for a key that has no SLO to evaluate it with at ``at`` (its SLO was removed,
    or nothing answered for it): no burn rates at all, and why."""
    return Evaluation(
        slo=key,
        at=at,
        severity=Severity.NO_DATA,
        burn_rates=MappingProxyType({}),
        error_budget_remaining=None,
        time_to_exhaustion_seconds=None,
        error=error,
    )


def burn_rate_text(value: float, *, fine: bool = False) -> str:
    """A burn rate as pages, reports and tables spell it: ``14.4x``, ``200x``.

    ``fine`` keeps two decimals below 10x (``0.50x``, ``6.00x``), for tables that show every
    window, where a slow burn would otherwise read ``0.5x`` beside ``14.4x``.
    """
    if value >= 100:
        return f"{value:.0f}x"
    if value >= 10 or not fine:
        return f"{value:.1f}x"
    return f"{value:.2f}x"
