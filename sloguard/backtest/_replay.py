"""Replay the daemon's alerting over a past range, from Prometheus range queries.

The same code decides as in the daemon: :meth:`sloguard.engine.Engine.plan` names the queries
(one per distinct expression, shared by every SLO and every policy that needs it),
:func:`sloguard.engine.evaluate_planned` turns the answers at one instant into evaluations
(:func:`sloguard.burn.evaluate` inside), and :func:`sloguard.lifecycle.step` moves each SLO
key's episode with the daemon's lifecycle defaults. Only the source of the answers differs: a
range query's point at instant ``t`` is the answer an instant query at ``t`` gets.

Range queries are cut into chunks of at most ``max_points_per_query`` points (Prometheus
refuses more than 11,000 per series), asked ``concurrency`` at a time, and the next chunk is
fetched while the current one is evaluated, so memory stays bounded by one chunk whatever the
range. Queries used only for the SLO period (the error budget remaining, which never decides a
severity) may be asked at a coarser ``budget_step``: a 30-day window evaluated 86,400 times is
most of a backtest's cost in Prometheus.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from sloguard.backtest._calendar import CalendarBudgets, Grid
from sloguard.backtest._fetch import Chunk, Fetcher, samples
from sloguard.backtest._model import (
    SPEC_POLICY,
    Episode,
    KeySeries,
    Options,
    Policy,
    Progress,
    Result,
    SeverityChange,
    budget_step_for,
)
from sloguard.burn import Evaluation, gap, with_budget
from sloguard.durations import format_duration
from sloguard.engine import Engine, combine, evaluate_planned, without_calendar_period
from sloguard.errors import SloguardError
from sloguard.lifecycle import EpisodeState, Event, EventKind, step
from sloguard.model import SLO
from sloguard.ports import Sample, Source, asking_as

YIELD_EVERY = 64  # steps evaluated between two turns of the event loop
GAP_ERROR = "not evaluated: no series for this key"


@dataclass(slots=True)
class _Open:
    """An episode being collected."""

    policy: str
    slo: SLO
    key: str
    episode_id: str
    declared_at: float
    severities: list[SeverityChange]
    events: list[Event]


_CHANGES = (
    EventKind.DECLARED,
    EventKind.ESCALATED,
    EventKind.REESCALATED,
    EventKind.DEESCALATED,
    EventKind.REFIRED,
)


class _Replayer:
    def __init__(self, slos: Sequence[SLO], policies: Sequence[Policy], options: Options) -> None:
        self.options = options
        self.slos = tuple(slos)
        self.policies = tuple(policies)
        variants = [p.apply(s) for p in policies for s in slos]
        # One plan per run: nothing to remember. A calendar SLO's budget is read apart
        # (sloguard.backtest._calendar): no range query follows its period start.
        self.plan = combine(map(without_calendar_period, Engine().plan(variants).slos))
        n = len(slos)
        self.plans = {
            p.name: self.plan.slos[i * n : (i + 1) * n] for i, p in enumerate(self.policies)
        }
        tier_queries: set[str] = set()
        for sp in self.plan.slos:
            for w in sp.slo.window_seconds:
                tier_queries.add(sp.ratio[w])
                if w in sp.total:
                    tier_queries.add(sp.total[w])
            if sp.bucket_check:
                tier_queries.add(sp.bucket_check)
        self.fine = [q for q in self.plan.queries if q in tier_queries]
        self.coarse = [q for q in self.plan.queries if q not in tier_queries]
        self.states: dict[str, dict[str, EpisodeState]] = {p.name: {} for p in policies}
        self.open: dict[tuple[str, str], _Open] = {}
        self.episodes: list[Episode] = []
        self.errors: dict[str, int] = {}
        self.series: dict[str, KeySeries] = {}
        self.budget_ratio = 1
        self.calendar: dict[str, Grid] = {}  # by SLO name

    async def run_chunk(self, chunk: Chunk) -> None:
        for offset in range(chunk.size):
            if offset % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the next chunk's requests make progress
            index = chunk.first + offset
            at = self.options.at(index)
            c = index // self.budget_ratio - chunk.coarse_first
            answers: dict[str, list[Sample] | SloguardError] = {
                q: samples(a, offset) for q, a in chunk.fine.items()
            }
            answers.update({q: samples(a, c) for q, a in chunk.coarse.items()})
            for policy in self.policies:
                evaluations: list[tuple[SLO, Evaluation]] = []
                for sp in self.plans[policy.name]:
                    evaluations.extend(
                        (sp.slo, self._budgeted(sp.slo, e))
                        for e in evaluate_planned(sp, answers, at)
                    )
                self._apply(policy, evaluations, index, at)

    def _budgeted(self, slo: SLO, evaluation: Evaluation) -> Evaluation:
        """A calendar SLO's evaluation with its budget from the grid, when known."""
        grid = self.calendar.get(slo.name)
        left = None if grid is None else grid.at(evaluation.slo, evaluation.at)
        return evaluation if left is None else with_budget(slo, evaluation, left)

    def _apply(
        self, policy: Policy, evaluations: list[tuple[SLO, Evaluation]], index: int, at: float
    ) -> None:
        states = self.states[policy.name]
        seen = {e.slo for _, e in evaluations}
        # As the daemon does: an open episode whose key was not evaluated gets a gap.
        for key, state in states.items():
            if state.open and key not in seen:
                slo = self._slo_of(key)
                if slo is not None:
                    evaluations.append((slo, gap(key, at, GAP_ERROR)))
        first_policy = policy is self.policies[0]
        for slo, evaluation in evaluations:
            if evaluation.error and evaluation.error != GAP_ERROR and first_policy:
                self.errors[evaluation.error] = self.errors.get(evaluation.error, 0) + 1
            if self.options.record_series:
                self._record(evaluation, index)
            old = states.get(evaluation.slo)
            new, events = step(old, evaluation, at, self.options.lifecycle)
            states[evaluation.slo] = new
            self._collect(policy, slo, new, events)

    def _slo_of(self, key: str) -> SLO | None:
        matches = [s for s in self.slos if key == s.name or key.startswith(s.name + "{")]
        return max(matches, key=lambda s: len(s.name)) if matches else None

    def _record(self, evaluation: Evaluation, index: int) -> None:
        series = self.series.get(evaluation.slo)
        n = self.options.steps
        if series is None:
            series = KeySeries({}, array("d", [math.nan]) * n)
            self.series[evaluation.slo] = series
        for window, rate in evaluation.burn_rates.items():
            values = series.burn.get(window)
            if values is None:
                values = series.burn[window] = array("d", [math.nan]) * n
            if rate is not None:
                values[index] = rate
        if evaluation.error_budget_remaining is not None:
            series.budget[index] = evaluation.error_budget_remaining

    def _collect(self, policy: Policy, slo: SLO, state: EpisodeState, events: list[Event]) -> None:
        key = (policy.name, state.slo)
        for event in events:
            current = self.open.get(key)
            if event.kind is EventKind.DECLARED and (
                current is None or current.episode_id != event.episode_id
            ):
                current = _Open(policy.name, slo, state.slo, event.episode_id, event.at, [], [])
                self.open[key] = current
            if current is None:
                continue
            current.events.append(event)
            if event.kind in _CHANGES and not (
                current.severities and current.severities[-1].severity is event.severity
            ):
                current.severities.append(SeverityChange(event.at, event.severity))
            if event.kind is EventKind.RESOLVED:
                self._close(current, state, event.at)
                del self.open[key]

    def _close(self, current: _Open, state: EpisodeState, resolved_at: float | None) -> None:
        policy_slo = next(p for p in self.policies if p.name == current.policy).apply(current.slo)
        windows = policy_slo.window_seconds
        burn_start = (
            state.burn_started_at if state.burn_started_at is not None else current.declared_at
        )
        self.episodes.append(
            Episode(
                policy=current.policy,
                slo=current.key,
                slo_name=current.slo.name,
                episode_id=current.episode_id,
                declared_at=current.declared_at,
                severities=tuple(current.severities),
                resolved_at=resolved_at,
                burn_started_at=burn_start,
                peak_burn_rate=state.peak_burn_rate,
                burn_window=format_duration(min(windows)) if windows else "",
                budget_consumed=state.burn_seconds
                / current.slo.exhaustion_period_seconds(current.declared_at),
                budget_remaining=state.budget_remaining,
                events=tuple(current.events),
                started_before_range=burn_start <= self.options.start,
            )
        )

    def finish(self) -> None:
        for (policy, key), current in list(self.open.items()):
            self._close(current, self.states[policy][key], None)
        self.open.clear()
        order = {p.name: i for i, p in enumerate(self.policies)}
        self.episodes.sort(key=lambda e: (order[e.policy], e.declared_at, e.slo))


async def replay(
    slos: Sequence[SLO],
    source: Source,
    options: Options,
    policies: Sequence[Policy] = (Policy(SPEC_POLICY),),
    *,
    progress: Progress | None = None,
) -> Result:
    """Replay ``policies`` over ``options.start`` .. ``options.end`` for ``slos``.

    Never raises for a failing query: like the daemon, the SLOs that depend on it get "no data"
    evaluations with the reason, counted in :attr:`Result.errors`. Every query is asked in the
    SLOs' tenant; ``slos`` of several tenants are a ValueError (see :func:`one_tenant`).
    """
    with asking_as(one_tenant(slos)):
        return await _replay(slos, source, options, policies, progress)


def one_tenant(slos: Sequence[SLO]) -> str | None:
    """The one tenant of ``slos`` (None: the connection's). A backtest shares identical queries
    between its SLOs and policies, so it replays one tenant's SLOs at a time: several tenants
    are a ValueError naming them."""
    tenants = sorted({s.tenant or "(the connection's)" for s in slos})
    if len(tenants) > 1:
        raise ValueError(
            f"these SLOs name several tenants ({', '.join(tenants)}): "
            "backtest one tenant's SLOs at a time"
        )
    return slos[0].tenant if slos else None


async def _replay(
    slos: Sequence[SLO],
    source: Source,
    options: Options,
    policies: Sequence[Policy],
    progress: Progress | None,
) -> Result:
    if not policies:
        raise ValueError("no policy to replay")
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be distinct: {names}")
    replayer = _Replayer(slos, policies, options)
    budget_step = budget_step_for(options)
    replayer.budget_ratio = round(budget_step / options.step)
    calendar = CalendarBudgets(source, options, budget_step)
    replayer.calendar = await calendar.grids(slos)
    fetcher = Fetcher(source, options, budget_step)
    size = options.max_points_per_query
    starts = list(range(0, options.steps, size))

    def fetch(first: int) -> asyncio.Task[Chunk]:
        count = min(size, options.steps - first)
        return asyncio.ensure_future(fetcher.chunk(first, count, replayer.fine, replayer.coarse))

    pending = fetch(starts[0]) if starts else None
    for n in range(len(starts)):
        assert pending is not None
        chunk = await pending
        pending = fetch(starts[n + 1]) if n + 1 < len(starts) else None
        await replayer.run_chunk(chunk)
        if progress is not None:
            progress(chunk.size)
    replayer.finish()
    return Result(
        options=options,
        slos=tuple(slos),
        policies=tuple(policies),
        episodes=replayer.episodes,
        errors=replayer.errors,
        requests=fetcher.requests + calendar.requests,
        budget_step=budget_step,
        series=replayer.series,
        plans=dict(replayer.plans),
    )
