"""The engine: plan, ask and decode, with the memos of one daemon's lifetime.

An :class:`Engine` is built per daemon (the composition root makes one, a reload makes a new
one), so its caches live as long as the SLO objects they describe and two daemons in one
process never share them. Everything it caches is a pure function of frozen inputs.
"""

from __future__ import annotations

import asyncio
import math
import operator
from collections.abc import Hashable, Sequence
from typing import TypeVar, cast

from sloguard.burn import Evaluation
from sloguard.engine._ask import DEFAULT_CONCURRENCY, Answer, Answers, RecordedAnswers
from sloguard.engine._combine import ask_combined
from sloguard.engine._crossing import Probes, crossed
from sloguard.engine._decode import evaluate_plain, evaluate_planned, plain_numbers
from sloguard.engine._memo import PerSlo, Verdicts, bits_of
from sloguard.engine._merge import Merges, answers_of
from sloguard.engine._plan import Plan, SloPlan, at_instant, combine, plan_slo
from sloguard.engine._ratio import divide
from sloguard.engine._recorded import (
    Fingerprint,
    Recorded,
    ask_bulk,
    fingerprint,
    plan_from_rules,
    probe_recorded,
)
from sloguard.engine._tenants import by_tenant, in_order
from sloguard.model import SLO
from sloguard.ports import Source, asking_as

AUTO_DIRECT_MAX_SLOS = 500
_MAX_RECORDED_SETTINGS = 16  # recorded planners kept; more settings than this: start afresh

H = TypeVar("H", bound=Hashable)


class Engine:
    """Evaluates many SLOs at one pinned instant, remembering what it planned.

    Memos (all by SLO identity or equal value, all dropped with the engine): each SLO's direct
    plan and recording-rule fingerprint, its recorded plan per setting, the last recorded plan
    of the whole fleet, the shared series names and window sets of recorded plans, the merged
    queries of the last plans (:class:`~sloguard.engine._merge.Merges`), and each SLO's last
    evaluation with the recorded numbers it was made from (:class:`Verdicts`).
    """

    def __init__(self) -> None:
        self._plans = PerSlo(plan_slo)
        self._fingerprints: PerSlo[Fingerprint] = PerSlo(fingerprint)
        self._recorded_planners: dict[tuple[float, bool], PerSlo[SloPlan]] = {}
        # The last recorded plan per tenant (see _last_recorded_plan).
        self._last: dict[str | None, tuple[tuple[SLO, ...], Recorded, float, Plan]] = {}
        self._interned: dict[Hashable, Hashable] = {}
        self._verdicts = Verdicts()
        self._merges = Merges()

    def plan(self, slos: Sequence[SLO], at: float | None = None) -> Plan:
        """Plan the queries of ``slos``; an expression shared by several SLOs is asked once.

        Given ``at``, calendar SLOs ask their period over its elapsed part at ``at``
        (:func:`~sloguard.engine._plan.at_instant`); without, over their nominal length.
        """
        if at is None:
            return combine(map(self._plans, slos), self._merges)
        return combine((at_instant(self._plans(s), at) for s in slos), self._merges)

    def plan_recorded(
        self, slos: Sequence[SLO], found: Recorded, *, direct_windows_max_seconds: float = 0
    ) -> Plan:
        """Like :meth:`plan`, reading the SLOs in ``found`` from recorded series, except their
        windows of at most ``direct_windows_max_seconds`` (queried directly, shared as in
        :meth:`plan`)."""
        with_period = self._from_rules(direct_windows_max_seconds, period=True)
        but_period = self._from_rules(direct_windows_max_seconds, period=False)
        planned: list[SloPlan] = []
        for slo in slos:
            if slo.name not in found.windows:
                planned.append(self._plans(slo))
            else:
                planned.append((with_period if slo.name in found.periods else but_period)(slo))
        return combine(planned, self._merges)

    async def probe_recorded(self, slos: Sequence[SLO], source: Source, at: float) -> Recorded:
        """The SLOs whose recording rules run in Prometheus at ``at`` (see
        :func:`sloguard.engine._recorded.probe_recorded`)."""
        return await probe_recorded(slos, source, at, self._fingerprints)

    async def evaluate_all(
        self,
        slos: Sequence[SLO],
        source: Source,
        at: float,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        recorded: bool = True,
        direct_windows_max_seconds: float = 0,
    ) -> list[Evaluation]:
        """Evaluate ``slos`` at unix time ``at``: one evaluation per SLO (per group when grouped).

        With ``recorded`` (the default), SLOs whose ``sloguard generate`` recording rules run in
        Prometheus are read from the recorded series, one query per window for all of them; the
        others are queried directly (see :meth:`probe_recorded`). Windows of at most
        ``direct_windows_max_seconds`` are always queried directly, even when recorded: recorded
        series only change once per rule evaluation, which delays a page by up to that interval,
        while the short windows are the ones that decide a fast page (``3600`` reads the SEV1
        tier's 5m and 1h directly). Without ``recorded`` every window is queried directly.

        SLOs of different tenants (``SLO.tenant``) are planned and asked apart, each under its
        tenant; the evaluations come back in the order of ``slos``.
        """
        tenants = by_tenant(slos, lambda slo: slo)
        out: list[Evaluation] = []
        for tenant, group in tenants.items():
            with asking_as(tenant):
                out += await self._evaluate_tenant(
                    group if len(tenants) > 1 else slos,
                    source,
                    at,
                    tenant,
                    concurrency=concurrency,
                    recorded=recorded,
                    direct_windows_max_seconds=direct_windows_max_seconds,
                )
        return in_order(out, slos) if len(tenants) > 1 else out

    async def _evaluate_tenant(
        self,
        slos: Sequence[SLO],
        source: Source,
        at: float,
        tenant: str | None,
        *,
        concurrency: int,
        recorded: bool,
        direct_windows_max_seconds: float,
    ) -> list[Evaluation]:
        """:meth:`evaluate_all` of one tenant's SLOs."""
        direct_max = direct_windows_max_seconds
        if direct_max < 0 or math.isnan(direct_max):
            raise ValueError(f"direct_windows_max_seconds must be >= 0: {direct_max}")
        if recorded and any(_longest(s) > direct_max for s in slos):
            found = await self.probe_recorded(slos, source, at)
            if found.windows:
                the_plan = self._last_recorded_plan(slos, found, direct_max, tenant)
                if any(s.calendar is not None for s in slos):
                    the_plan = combine((at_instant(sp, at) for sp in the_plan.slos), self._merges)
                return await run(
                    the_plan, source, at, concurrency=concurrency, verdicts=self._verdicts
                )
        return await run(self.plan(slos, at), source, at, concurrency=concurrency)

    async def crossed(
        self,
        probes: Probes,
        source: Source,
        at: float,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> set[str]:
        """The SLOs among ``probes`` whose error ratio over one of the given long windows burns
        over its factor at ``at`` (see :func:`sloguard.engine._crossing.crossed`), each
        tenant's SLOs asked under their tenant."""
        out: set[str] = set()
        for tenant, group in by_tenant(probes, lambda probe: probe[0]).items():
            with asking_as(tenant):
                out |= await crossed(group, source, at, self._plans, concurrency=concurrency)
        return out

    def _last_recorded_plan(
        self, slos: Sequence[SLO], found: Recorded, direct_max: float, tenant: str | None
    ) -> Plan:
        """The last recorded plan (of ``tenant``'s SLOs) again for the same SLOs (the same
        objects, in the same order) and the same probe result: a daemon's ticks, until its
        rules or SLOs change. At 10,000 SLOs planning goes through 10,000 SLOs and their
        150,000 windows."""
        last = self._last.get(tenant)
        if (
            last is not None
            and last[2] == direct_max
            and last[1] == found
            and len(last[0]) == len(slos)
            and all(map(operator.is_, last[0], slos))
        ):
            return last[3]
        self._last.pop(tenant, None)  # the old plan goes before the new one is built
        the_plan = self.plan_recorded(slos, found, direct_windows_max_seconds=direct_max)
        self._last[tenant] = (tuple(slos), found, direct_max, the_plan)
        return the_plan

    def _from_rules(self, direct_max: float, *, period: bool) -> PerSlo[SloPlan]:
        """The memoized recorded planner for one setting (a daemon keeps one for its lifetime)."""
        planner = self._recorded_planners.get((direct_max, period))
        if planner is None:
            if len(self._recorded_planners) >= _MAX_RECORDED_SETTINGS:
                self._recorded_planners.clear()

            def plan_one(slo: SLO) -> SloPlan:
                sid = self._fingerprints(slo)[0]
                return plan_from_rules(slo, sid, self._intern, period=period, direct_max=direct_max)

            planner = PerSlo(plan_one)
            self._recorded_planners[(direct_max, period)] = planner
        return planner

    def _intern(self, value: H) -> H:
        """One object per equal series name or window set, shared by every SLO's plan."""
        return cast(H, self._interned.setdefault(value, value))


async def run(
    the_plan: Plan,
    source: Source,
    at: float,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    verdicts: Verdicts | None = None,
) -> list[Evaluation]:
    """Ask every distinct query once at ``at`` (queries of one shape merged across SLOs, see
    :mod:`sloguard.engine._merge`; the rest as one combined query per SLO, see
    :mod:`sloguard.engine._combine`), then evaluate each SLO (input order; groups of a
    grouped SLO sorted by their label values). With ``verdicts``, an SLO whose recorded
    numbers did not change since the last run gets its last evaluation at ``at``."""
    names = the_plan.recorded
    semaphore = asyncio.Semaphore(concurrency)
    sids = {sp.sloth_id: sp.sloth_id for sp in the_plan.slos if sp.recorded}
    grouped = {sp.sloth_id for sp in the_plan.slos if sp.recorded and sp.slo.group_by}

    answered, split = await asyncio.gather(
        asyncio.gather(*(ask_combined(source, c, at, semaphore) for c in the_plan.asks)),
        # Each split as it arrives: one answer of 10,000 series is held at a time, not all.
        asyncio.gather(*(ask_bulk(source, n, at, sids, grouped, semaphore) for n in names)),
    )
    answers: dict[str, Answer] = {}
    for got in answered:
        answers.update(got)
    if the_plan.merged:
        answers.update(await answers_of(source, the_plan.merged, answers, at, semaphore))
    for ratio, errors, total in the_plan.derived:
        answers[ratio] = divide(answers[errors], answers[total])
    recorded = dict(zip(names, split, strict=True))
    del answered, split
    out: list[Evaluation] = []
    for sp in the_plan.slos:
        out.extend(_evaluate(sp, answers, at, recorded, verdicts))
    return out


def _evaluate(
    sp: SloPlan, answers: Answers, at: float, recorded: RecordedAnswers, verdicts: Verdicts | None
) -> list[Evaluation]:
    """:func:`evaluate_planned`; for an SLO read from plain recorded numbers (see
    :func:`sloguard.engine._decode.plain_numbers`), its last evaluation again (at ``at``) when
    it was made from the same numbers, else :func:`~sloguard.engine._decode.evaluate_plain`."""
    numbers = plain_numbers(sp, recorded) if sp.recorded else None
    if numbers is None:
        return evaluate_planned(sp, answers, at, recorded=recorded)
    bits = bits_of(numbers) if verdicts is not None else b""
    if verdicts is not None:
        last = verdicts.get(sp, bits, at)
        if last is not None:
            return [last]
    made = evaluate_plain(sp, numbers, at)
    if made is None:
        made = evaluate_planned(sp, answers, at, recorded=recorded)[0]
    if verdicts is not None:
        verdicts.put(sp, bits, made)
    return [made]


def auto_direct_windows(slos: Sequence[SLO]) -> int:
    """The daemon's default ``direct_windows_max_seconds`` in recorded mode.

    The short window of a paging tier (5m for SEV1) decides when an SLO joins the fast path
    (sloguard.fastpath); read from a recorded series it shows an outage up to one rule interval
    late. Up to ``AUTO_DIRECT_MAX_SLOS`` SLOs it is read directly (one combined query per SLO
    per tick: at most 500); beyond that the fleet stays fully recorded, one query per window.
    """
    if len(slos) > AUTO_DIRECT_MAX_SLOS:
        return 0
    shortest = [
        min((t.short_seconds for t in s.tiers if t.severity.pages), default=0) for s in slos
    ]
    return max(shortest, default=0)


def _longest(slo: SLO) -> int:
    return max(slo.period_seconds, *slo.window_seconds)
