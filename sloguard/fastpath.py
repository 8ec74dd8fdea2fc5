"""Which SLOs the daemon re-evaluates between its regular ticks (the fast path). Pure.

A multi-window tier pages when both of its windows burn over the tier's factor. For a sudden
outage the short window (5m for SEV1) crosses within one scrape; the long window (1h) is the
one that takes time: 51.8 s of a 100 % outage for a 99.9 % SLO. An SLO whose short window of a
*paging* tier above its current severity already burns over that tier's factor is therefore
**approaching** a page, and the only question left is when its long window crosses. Waiting
for the next regular tick adds up to a whole interval (30 s by default) to the page; the
daemon instead checks the **tripwire** of each approaching tier, its long window against
its factor (one query: the window's error ratio, from the raw counters), every
``fast_path.interval_seconds`` (1 s by default), and the moment one is over its factor it
evaluates that SLO in full and feeds the lifecycle, which
makes the decision as at any tick. Everything else waits for the regular tick.

Two sets come out of one choice (:func:`choose`):

* ``fast``: approaching SLOs, hottest first (the highest short-window burn over its factor),
  at most ``limit``, with the tripwire (long window, factor) of each approaching tier
  (``tripwires``). Always read from the raw counters (direct queries): recorded series only
  change once per rule evaluation, which would defeat the point.
* ``direct``: ``fast`` plus the SLOs with an open episode (highest severity first), at most
  ``limit`` in all. In recorded mode the regular tick reads these directly too, so one episode
  is never judged alternately from the raw counters and from a recorded series that lags
  behind them (which would record a de-escalation and a re-escalation every tick).

The limit bounds the extra load a fleet-wide outage puts on Prometheus: SLOs beyond it are
evaluated by the regular tick as before, never dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sloguard.burn import Evaluation, TierState
from sloguard.model import Severity

Tripwire = tuple[int, float]
"""A long window (seconds) and the burn-rate factor it must exceed for its tier to fire."""


@dataclass(frozen=True, slots=True)
class Heat:
    """How urgently one SLO wants evaluating: the highest ``approach`` of its keys (0: none
    approaches a page) and the highest severity of its open episodes (``None``: none open)."""

    approach: float = 0.0
    open_severity: Severity | None = None
    tripwires: frozenset[Tripwire] = frozenset()  # of the approaching tiers

    def merge(self, other: Heat) -> Heat:
        if other.open_severity is None:
            worst = self.open_severity
        elif self.open_severity is None:
            worst = other.open_severity
        else:
            worst = max(self.open_severity, other.open_severity)
        return Heat(max(self.approach, other.approach), worst, self.tripwires | other.tripwires)

    @property
    def cold(self) -> bool:
        return self.approach <= 0.0 and self.open_severity is None


def approaching(evaluation: Evaluation) -> tuple[float, frozenset[Tripwire]]:
    """How far the short window of a paging tier above the current severity burns over its
    factor (short burn / factor, > 1) while its long window has not crossed yet, at most, and
    the tripwire of every such tier; ``(0.0, frozenset())`` when none."""
    current = max(evaluation.severity, Severity.OK)
    best = 0.0
    tripwires: set[Tripwire] = set()
    for d in evaluation.tiers:
        sev = d.tier.severity
        if sev <= current or not sev.pages or d.state is TierState.FIRING:
            continue
        short = d.short_burn_rate
        if short is None or d.factor <= 0 or short <= d.factor:
            continue
        best = max(best, short / d.factor)
        tripwires.add((d.tier.long_seconds, d.factor))
    return best, frozenset(tripwires)


def approach(evaluation: Evaluation) -> float:
    """The first half of :func:`approaching`: 0 when the evaluation approaches no page."""
    return approaching(evaluation)[0]


def heat(
    evaluations: Iterable[Evaluation],
    open_severity: Mapping[str, Severity],
    slo_of: Mapping[str, str],
) -> dict[str, Heat]:
    """The heat of every SLO with a key that approaches a page or has an open episode.

    ``open_severity`` maps each key with an open episode to the episode's severity (its peak
    while quiet); ``slo_of`` maps a key to its SLO's name (a key without one is skipped: a
    removed SLO is not evaluated any more)."""
    out: dict[str, Heat] = {}
    for ev in evaluations:
        name = slo_of.get(ev.slo)
        a, tripwires = approaching(ev)
        if name is None or a <= 0.0:
            continue
        out[name] = out.get(name, Heat()).merge(Heat(approach=a, tripwires=tripwires))
    for key, severity in open_severity.items():
        name = slo_of.get(key)
        if name is None:
            continue
        out[name] = out.get(name, Heat()).merge(Heat(open_severity=severity))
    return out


@dataclass(frozen=True, slots=True)
class Choice:
    """The outcome of :func:`choose`; empty when nothing burns."""

    fast: frozenset[str] = frozenset()
    direct: frozenset[str] = frozenset()
    left_out: int = 0  # SLOs that wanted the fast path or direct reads but are over the limit
    tripwires: Mapping[str, frozenset[Tripwire]] = field(default_factory=dict)  # of fast SLOs


def choose(heats: Mapping[str, Heat], limit: int) -> Choice:
    """Pick the fast and direct sets (see the module docstring); ties break by name, so the
    choice is stable from one tick to the next."""
    if limit <= 0:
        return Choice(left_out=sum(1 for h in heats.values() if not h.cold))
    ranked = sorted(
        (n for n, h in heats.items() if h.approach > 0.0), key=lambda n: (-heats[n].approach, n)
    )
    fast = ranked[:limit]
    chosen = set(fast)
    opened = sorted(
        (n for n, h in heats.items() if h.open_severity is not None and n not in chosen),
        key=lambda n: (-int(heats[n].open_severity or Severity.OK), n),
    )
    direct = [*fast, *opened[: limit - len(fast)]]
    wanted = len(set(ranked) | {n for n, h in heats.items() if h.open_severity is not None})
    return Choice(
        frozenset(fast),
        frozenset(direct),
        left_out=wanted - len(direct),
        tripwires={n: heats[n].tripwires for n in fast},
    )


class FastPath:
    """The fast path of one daemon: the heat of its SLOs and the choice made from it.

    A regular tick replaces the heat; a fast tick updates only its own SLOs' heat. Kept per
    daemon (a reload or a second daemon starts cold), and pure: the tick feeds it
    evaluations and the open episodes, and reads :attr:`choice`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.choice = Choice()
        self._heat: dict[str, Heat] = {}

    def update(
        self,
        evaluations: Iterable[Evaluation],
        open_severity: Mapping[str, Severity],
        slo_of: Mapping[str, str],
        *,
        defined: Collection[str],
        only: Collection[str] | None = None,
    ) -> Choice:
        """Choose again after a tick. ``open_severity`` and ``slo_of`` are as for
        :func:`heat`; ``defined`` names the SLOs of the config (a removed one loses its heat);
        ``only`` names the SLOs a fast tick evaluated (None: a regular tick, which starts
        afresh). Returns the previous choice."""
        before = self.choice
        if self.limit <= 0:
            return before
        fresh = heat([ev for ev in evaluations if approach(ev) > 0.0], open_severity, slo_of)
        if only is None:
            self._heat = fresh
        else:
            kept = {n: h for n, h in self._heat.items() if n not in only and n in defined}
            self._heat = kept | fresh
        self.choice = choose(self._heat, self.limit)
        return before


__all__ = ["Choice", "FastPath", "Heat", "Tripwire", "approach", "approaching", "choose", "heat"]
