"""What one evaluation asks Prometheus: each SLO's queries per window, and their distinct union.

Every SLO needs, for each window of its tiers and for its period, the error ratio and (unless
the indicator is a raw ratio) the total event rate; a latency SLO also needs a check that its
histogram has the exact ``le`` bucket it names. Identical expressions are asked once, however
many SLOs share them. Pure: no memo here (the :class:`~sloguard.engine.Engine` keeps those).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from sloguard.durations import format_duration
from sloguard.engine._combine import Combined, combined
from sloguard.engine._merge import Merged, merge, unions
from sloguard.engine._promql import bucket_selector, group_expr
from sloguard.engine._ratio import one_per_labels
from sloguard.model import SLO, LatencyIndicator, RatioIndicator, render_window

BUCKET_CHECK_RANGE = "1h"  # a missing bucket is reported when others exist within this range


@dataclass(frozen=True, slots=True)
class SloPlan:
    """The queries one SLO needs, keyed by window seconds (the period included).

    For the windows in ``recorded`` the query is the name of a recorded series, asked once for
    every SLO (:func:`~sloguard.engine.bulk_query`), whose series of this SLO carries
    ``sloth_id``. For the windows in ``errors`` the ratio is ``(errors)/(total)`` asked as its
    two halves (:mod:`sloguard.engine._ratio`), so Prometheus reads the total once.
    """

    slo: SLO
    ratio: Mapping[int, str]
    total: Mapping[int, str]
    bucket_check: str | None = None
    recorded: frozenset[int] = frozenset()
    sloth_id: str = ""
    errors: Mapping[int, str] = field(default_factory=dict)
    # The recorded series an evaluation of plain numbers reads, worked out once per plan (see
    # plain_reads): a daemon's plans live for many ticks, each reading 10,000 SLOs' numbers.
    plain: tuple[str, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plain", plain_reads(self))

    @property
    def queries(self) -> tuple[str, ...]:
        """The direct queries (not the recorded series)."""
        return self._direct({})

    @property
    def asked(self) -> tuple[str, ...]:
        """The direct queries sent: :attr:`queries`, with the errors half of each ratio in
        ``errors`` instead of the ratio (see :attr:`derived`)."""
        return self._direct(self.errors)

    def _direct(self, ratio_instead: Mapping[int, str]) -> tuple[str, ...]:
        """Each direct window's ratio (or ``ratio_instead`` of it) and total, then the bucket
        check."""
        extra = (self.bucket_check,) if self.bucket_check else ()
        rec = self.recorded
        ratio = (ratio_instead.get(w, q) for w, q in self.ratio.items() if w not in rec)
        total = (q for w, q in self.total.items() if w not in rec)
        return (*ratio, *total, *extra)

    @property
    def derived(self) -> tuple[tuple[str, str, str], ...]:
        """(ratio, errors, total) of each ratio divided from its asked halves."""
        rec = self.recorded
        return tuple(
            (self.ratio[w], e, self.total[w]) for w, e in self.errors.items() if w not in rec
        )

    @property
    def series(self) -> tuple[str, ...]:
        """The recorded series read for this SLO."""
        rec = self.recorded
        ratio = (q for w, q in self.ratio.items() if w in rec)
        return (*ratio, *(q for w, q in self.total.items() if w in rec))

    def query_text(self, window: int, query: str) -> str:
        """The query as messages show it: a recorded series with this SLO's ``sloth_id``."""
        if window in self.recorded:
            return f'{query}{{sloth_id="{self.sloth_id}"}}'
        return query


@dataclass(frozen=True, slots=True)
class Plan:
    """What one evaluation asks Prometheus: distinct queries in a stable order, sent as
    ``asks``: those of one shape across SLOs merged (``merged``: one query for up to
    :data:`~sloguard.engine._merge.MAX_MERGED_VALUES` SLOs), and the merged queries of the same
    SLOs combined into one; the rest as one combined query per SLO (identical ones asked once);
    and the recorded series asked once each for all SLOs."""

    slos: tuple[SloPlan, ...]
    queries: tuple[str, ...] = field(default=())
    recorded: tuple[str, ...] = field(default=())
    asks: tuple[Combined, ...] = field(default=())
    merged: tuple[Merged, ...] = field(default=())
    derived: tuple[tuple[str, str, str], ...] = field(default=())

    @property
    def query_count(self) -> int:
        """Queries sent to Prometheus (a recorded series is asked once for all SLOs)."""
        return len(self.asks) + len(self.recorded)


def plain_reads(sp: SloPlan) -> tuple[str, ...] | None:
    """The recorded series whose numbers alone (its instant aside) make the evaluation of
    ``sp``: its ratios in window order, then its totals; None when they do not, or not simply.

    That holds for an ungrouped rolling SLO read wholly from recorded series. A calendar SLO
    (its period's span moves with the instant), a grouped one, a bucket check or a direct
    window: None (see :func:`sloguard.engine._decode.plain_numbers`)."""
    slo = sp.slo
    if (
        slo.group_by
        or slo.calendar is not None
        or sp.bucket_check is not None
        or not sp.recorded.issuperset(sp.ratio)
        or not sp.recorded.issuperset(sp.total)
    ):
        return None
    return (*sp.ratio.values(), *sp.total.values())


def plan_slo(slo: SLO) -> SloPlan:
    """The direct queries of one SLO: PromQL text, so windows are named here ("5m")."""
    ratio, total = direct_queries(slo, (*slo.window_seconds, slo.period_seconds))
    errors: dict[int, str] = {}
    if _halves(slo):
        for w, t in total.items():
            if e := _errors_half(slo, format_duration(w), ratio[w], t):
                errors[w] = e
    return SloPlan(slo=slo, ratio=ratio, total=total, bucket_check=bucket_check(slo), errors=errors)


def direct_queries(slo: SLO, windows: Iterable[int]) -> tuple[dict[int, str], dict[int, str]]:
    """The error ratio query and (when the indicator counts events) the total rate query of
    each of ``windows``, in their order: only the windows asked directly, so a plan read
    from recorded series writes no PromQL for the others."""
    ratio: dict[int, str] = {}
    total: dict[int, str] = {}
    for w in windows:
        label = format_duration(w)
        ratio[w] = group_expr(slo.error_ratio_query(label), slo.group_by)
        t = slo.total_query(label)
        if t is not None:
            total[w] = group_expr(t, slo.group_by)
    return ratio, total


def bucket_check(slo: SLO) -> str | None:
    """A latency SLO's check that its histogram has the ``le`` bucket it names; else None."""
    if not isinstance(slo.indicator, LatencyIndicator):
        return None
    return f"count by (le) (last_over_time({bucket_selector(slo.indicator)}[{BUCKET_CHECK_RANGE}]))"


def _halves(slo: SLO) -> bool:
    """Whether the SLO's error ratio may be asked as its two halves (see _ratio)."""
    ind = slo.indicator
    if not isinstance(ind, RatioIndicator | LatencyIndicator):
        return False
    halves = (render_window(ind.errors, "5m"), render_window(ind.total, "5m"))
    return all(one_per_labels(group_expr(h, slo.group_by)) for h in halves)


def _errors_half(slo: SLO, label: str, ratio: str, total: str) -> str | None:
    """The errors half of ``ratio`` when ``ratio`` is exactly ``(errors)/(total)``."""
    ind = slo.indicator
    assert isinstance(ind, RatioIndicator | LatencyIndicator)
    errors = group_expr(render_window(ind.errors, label), slo.group_by)
    return errors if ratio == f"({errors})\n/\n({total})" else None


def at_instant(sp: SloPlan, at: float) -> SloPlan:
    """``sp`` as asked at ``at``: a calendar SLO's period queries cover the elapsed part of the
    current period (``[<seconds>s]``, from the period start to ``at``) and are always direct,
    since no recording rule knows where the period starts; any other plan is ``sp`` itself."""
    slo = sp.slo
    if slo.calendar is None:
        return sp
    label = f"{slo.budget_window_seconds(at)}s"
    period = slo.period_seconds
    ratio = {**sp.ratio, period: group_expr(slo.error_ratio_query(label), slo.group_by)}
    total = dict(sp.total)
    errors = {w: e for w, e in sp.errors.items() if w != period}
    t = slo.total_query(label)
    if t is not None:
        total[period] = group_expr(t, slo.group_by)
        if period in sp.errors and (e := _errors_half(slo, label, ratio[period], total[period])):
            errors[period] = e
    return replace(sp, ratio=ratio, total=total, errors=errors, recorded=sp.recorded - {period})


def without_calendar_period(sp: SloPlan) -> SloPlan:
    """``sp`` without a calendar SLO's period queries, for range queries (the backtest): their
    range cannot follow the period start, so the budget is unknown rather than a rolling one."""
    slo = sp.slo
    if slo.calendar is None:
        return sp
    period = slo.period_seconds
    ratio = {w: q for w, q in sp.ratio.items() if w != period}
    total = {w: q for w, q in sp.total.items() if w != period}
    errors = {w: q for w, q in sp.errors.items() if w != period}
    return replace(sp, ratio=ratio, total=total, errors=errors, recorded=sp.recorded - {period})


Merger = Callable[[Iterable[tuple[str, str | None]]], tuple[Merged, ...]]


def combine(planned: Iterable[SloPlan], merger: Merger = merge) -> Plan:
    """The plan of many SLOs: direct queries of the same shape merged across SLOs
    (:mod:`sloguard.engine._merge`, never across tenants), the merged queries of the same SLOs
    as one combined query, each SLO's other direct queries as one combined query (an identical
    one shared by several SLOs asked once, first use order), and each recorded series once."""
    slos = tuple(planned)
    distinct = dict.fromkeys(q for p in slos for q in p.queries)
    tenants = {q: p.slo.tenant for p in slos for q in p.asked}
    series = dict.fromkeys(q for p in slos if p.recorded for q in p.series)
    merged = merger(tenants.items())
    answered = {q for m in merged for q in m.parts.values()}
    rest = ([q for q in p.asked if q not in answered] for p in slos)
    parts = (*unions(merged), *(qs for qs in rest if qs))
    asks = {c.text: c for c in map(combined, parts)}
    return Plan(
        slos=slos,
        queries=tuple(distinct),
        recorded=tuple(series),
        asks=tuple(asks.values()),
        merged=merged,
        derived=tuple(dict.fromkeys(d for p in slos for d in p.derived)),
    )


PlanOf = Callable[[SLO], SloPlan]
