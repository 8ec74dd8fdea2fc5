"""Recorded series: which SLOs Prometheus records (``sloguard generate`` rules), the plan of an
SLO read from them, and the one query per series name that answers for every SLO."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

from sloguard import rules
from sloguard.engine._ask import bounded
from sloguard.engine._plan import SloPlan, bucket_check, direct_queries
from sloguard.errors import SloguardError
from sloguard.model import SLO
from sloguard.ports import BySlothId, Source, read_by_sloth_id, read_label_values

PROBE = f"group by (sloth_id, {rules.HASH_LABEL}) ({rules.INFO})"
_FINGERPRINT_LABELS = ("sloth_id", rules.HASH_LABEL)  # what the probe reads of each series

H = TypeVar("H", bound=Hashable)


class Intern(Protocol):
    """Gives back the one stored object equal to ``value`` (storing ``value`` if new)."""

    def __call__(self, value: H, /) -> H: ...


# What an SLO's recording rules are known by: its sloth_id and the hash of what they mean.
Fingerprint = tuple[str, str]


def fingerprint(slo: SLO) -> Fingerprint:
    """The recording rules' identity of ``slo`` (what ``sloth_slo_info`` carries)."""
    return rules.sloth_id(slo), rules.sli_hash(slo)


@dataclass(frozen=True, slots=True)
class Recorded:
    """Which SLOs (by name) Prometheus records: their windows, and also their period."""

    windows: frozenset[str] = frozenset()
    periods: frozenset[str] = frozenset()


async def probe_recorded(
    slos: Sequence[SLO], source: Source, at: float, fingerprint_of: Callable[[SLO], Fingerprint]
) -> Recorded:
    """Find the SLOs whose recording rules run in Prometheus at ``at``; one query, and one per
    distinct SLO period asked at the same time.

    ``sloth_slo_info`` carries a hash of what the recorded ratios mean (indicator, windows,
    grouping); an SLO whose definition changed since its rules were loaded is read directly.
    The period ratio is summed from recorded 5m rates, so it is only trusted when the rules
    already ran one period ago (``sloth_slo_info offset <period>``); otherwise the period alone
    is queried directly. Any probe failure means: query everything directly.
    """

    async def present(offset: str) -> set[tuple[str, str]] | None:
        expr = (
            PROBE
            if not offset
            else f"group by (sloth_id, {rules.HASH_LABEL}) " + (f"({rules.INFO} offset {offset})")
        )
        try:
            # No Sample per SLO where the source reads the labels off its answer (Prometheus).
            got = await read_label_values(source, expr, at, _FINGERPRINT_LABELS)
        except SloguardError:
            return None  # without the probe, direct queries are always a safe answer
        return cast(set[Fingerprint], got)

    # The periods' probes go out with the first one, not after it: one round trip, not two.
    lengths = sorted({s.period_seconds for s in slos})
    now, *thens = await asyncio.gather(
        present(""), *(present(rules.prom_duration(period)) for period in lengths)
    )
    if not now:
        return Recorded()
    ready = [s for s in slos if fingerprint_of(s) in now]
    then_of = dict(zip(lengths, thens, strict=True))
    periods = {s.name for s in ready if fingerprint_of(s) in (then_of[s.period_seconds] or ())}
    return Recorded(frozenset(s.name for s in ready), frozenset(periods))


def plan_from_rules(
    slo: SLO, sloth_id: str, intern: Intern, *, period: bool, direct_max: float = 0
) -> SloPlan:
    """The plan of one SLO read from recorded series (the period too, with ``period``);
    windows of at most ``direct_max`` seconds stay direct queries. ``intern`` shares equal
    series names and window sets between the plans of many SLOs."""
    windows = dict.fromkeys((*slo.window_seconds, slo.period_seconds))
    stays = [w for w in windows if w <= direct_max or (w == slo.period_seconds and not period)]
    direct_ratio, direct_total = direct_queries(slo, stays)  # no PromQL for recorded windows
    ratio: dict[int, str] = {}
    total: dict[int, str] = {}
    recorded: list[int] = []
    for w in windows:
        if w in direct_ratio:
            ratio[w] = direct_ratio[w]
            if w in direct_total:
                total[w] = direct_total[w]
            continue
        recorded.append(w)
        ratio[w] = intern(f"{rules.RATIO}{rules.prom_duration(w)}")
        if slo.counts_events and w != slo.period_seconds:
            total[w] = intern(f"{rules.TOTAL}{rules.prom_duration(w)}")
    return SloPlan(
        slo=slo,
        ratio=ratio,
        total=total,
        bucket_check=bucket_check(slo),
        recorded=intern(frozenset(recorded)),
        sloth_id=sloth_id,
    )


def bulk_query(name: str) -> str:
    """The one query of a recorded series for all SLOs: ``max without (sloth_window)``.

    Every series of a recorded name has the same ``sloth_window``, so each group of this
    aggregation is exactly one series and its value is that series' value (NaN and Inf
    included); it keeps every label but ``sloth_window`` and ``__name__``, as sloguard's own
    alert rules do. Those two labels are over a quarter of each series' JSON, and at 10,000
    SLOs an answer has 10,000 series.
    """
    return f"max without (sloth_window) ({name})"


async def ask_bulk(
    source: Source,
    name: str,
    at: float,
    sids: Mapping[str, str],
    grouped: Set[str],
    semaphore: asyncio.Semaphore,
) -> BySlothId | SloguardError:
    """The :func:`bulk_query` of recorded series ``name`` at ``at`` by ``sloth_id`` (see
    :func:`sloguard.ports.by_sloth_id`), or why it failed; never raises. A
    :class:`~sloguard.ports.BulkSource` splits it as it reads it."""
    expr = bulk_query(name)
    return await bounded(lambda: read_by_sloth_id(source, expr, at, sids, grouped), semaphore)
