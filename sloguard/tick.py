"""The tick: one evaluation of every SLO at one pinned instant, committed. No delivery.

:meth:`Tick.run` evaluates every SLO (or, on a fast tick, the fast path's SLOs whose tripwire
crossed; see :mod:`sloguard.fastpath`), steps each SLO key's episode, and commits each changed
key's new state with its outbox rows in one transaction. It reports what it did to a
:class:`~sloguard.sink.MetricsSink` and keeps what the status API shows (:class:`Shown`).

Failures stay per SLO key: one that cannot be processed is logged and counted and the others go
on. A :class:`~sloguard.errors.StoreError` stops the tick: without a state database nothing
can be paged safely.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

from sloguard.burn import Evaluation, gap
from sloguard.collector import CollectorPause
from sloguard.delivery import DrainReport
from sloguard.engine import Engine
from sloguard.errors import SloguardError, StoreError
from sloguard.fastpath import FastPath, approach
from sloguard.lifecycle import EpisodeState, Event, EventKind, Phase
from sloguard.model import SLO, RawIndicator, Severity
from sloguard.paging import Outcome, PagingPolicy, advance, slo_for, slo_index
from sloguard.ports import Clock, Shards, Source, Store
from sloguard.prometheus.reachability import Reachability
from sloguard.records import OutboxCounts
from sloguard.sink import FastOutcome, MetricsSink, NoMetrics, TickOutcome
from sloguard.status import Shown, committed

log = logging.getLogger("sloguard.tick")

Evaluate = Callable[[Sequence[SLO], Source, float], Awaitable[list[Evaluation]]]
Crossed = Callable[
    [Sequence[tuple[SLO, Iterable[tuple[int, float]]]], Source, float], Awaitable[set[str]]
]
"""Which of the given SLOs have a tripwire (long window, factor) crossed (engine.crossed)."""

# Events that page: one with no recipient at all is logged as a warning, never silently dropped.
_PAGES = frozenset({EventKind.DECLARED, EventKind.ESCALATED})


@dataclass(frozen=True, slots=True)
class SloReport:
    """One SLO key after a tick, as the ``run --once`` summary shows it."""

    key: str
    severity: Severity
    phase: Phase
    episode_id: str
    events: tuple[Event, ...]
    queued: int
    silenced: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did (and, from ``run --once``, the delivery pass after it)."""

    at: float
    slos: tuple[SloReport, ...]
    failures: tuple[str, ...] = ()
    delivery: DrainReport = field(default_factory=DrainReport)
    outbox: OutboxCounts = field(default_factory=lambda: OutboxCounts(0, 0, 0))
    evaluations: tuple[Evaluation, ...] = ()  # what the engine said
    fast: bool = False  # a fast tick: only the fast path's SLOs that crossed were evaluated
    outcome: TickOutcome = TickOutcome.SUCCESS  # over the defined SLOs' evaluations
    fast_path_slos: int = 0  # SLOs on the fast path after this tick (0: no fast tick due)
    shards_held: int | None = None  # with HA replicas: shards this one holds (0: a standby)


def tick_outcome(evaluations: Sequence[Evaluation]) -> TickOutcome:
    """SUCCESS when every SLO was evaluated (no data is an answer), PARTIAL when some failed,
    FAILURE when all failed. No SLOs at all is a success: there was nothing to do."""
    failed = sum(1 for ev in evaluations if ev.error)
    if failed == 0:
        return TickOutcome.SUCCESS
    if failed < len(evaluations):
        return TickOutcome.PARTIAL
    return TickOutcome.FAILURE


class Tick:
    """Evaluates the SLOs at one instant, steps their episodes and commits; one per daemon."""

    def __init__(
        self,
        *,
        slos: Sequence[SLO],
        source: Source,
        evaluate: Evaluate,
        paging: PagingPolicy,
        store: Store,
        clock: Clock,
        metrics: MetricsSink | None = None,
        evaluate_direct: Evaluate | None = None,
        fast_path_max_slos: int = 0,
        crossed: Crossed | None = None,
        shown: Shown | None = None,
        collector: CollectorPause | None = None,
        shards: Shards | None = None,
    ) -> None:
        self.slos = list(slos)
        self.source = Reachability(source)
        self.evaluate = evaluate
        # Reads every window from the raw counters: the fast path's SLOs (sloguard.fastpath).
        self.evaluate_direct = evaluate_direct or evaluate
        self.crossed: Crossed = crossed or Engine().crossed
        self.fast_path = FastPath(fast_path_max_slos)
        self.paging = paging
        self.store = store
        self.clock = clock
        self.metrics: MetricsSink = metrics or NoMetrics()
        self.shown = shown or Shown()
        self.collector = collector  # paused while the tick runs (see sloguard.collector)
        self._states: dict[str, EpisodeState] | None = None
        # With several replicas (sloguard.ha), only the keys of the shards this one holds.
        self.shards = shards

    def states(self) -> dict[str, EpisodeState]:
        """Every key's committed episode state: read from the store once, then kept as each
        tick commits it (the tick is its store's one writer; at 10,000 SLOs reading them
        back every tick cost a tenth of the tick)."""
        if self._states is None:
            self._states = self.store.load_states()
        return self._states

    def _read_shared(self) -> None:
        """With replicas, take the states of the shards others hold from the store, so what
        this replica shows (a standby too) is the committed shared state, one tick behind at
        most. Its own shards' states are its own to keep: it is their one writer."""
        if self._states is None or self.shards is None:
            return  # read in full by states() when next asked
        shards = self.shards
        if shards.held and all(shards.owns(s.name) for s in self.slos):
            return  # it holds every SLO (the active one of active/standby): nothing to read
        for key, state in self.store.load_states().items():
            if not shards.owns(key):
                self._states[key] = state

    async def run(self, at: float, *, fast: bool = False) -> TickReport:
        """Evaluate every SLO at ``at`` and commit what changed; report it to the metrics.

        With ``fast``, the tripwires of the fast path's SLOs (chosen after the previous tick)
        are checked: one query per approaching tier's long window. Only the SLOs with one
        crossed are evaluated, in full and from the raw counters, and fed to the lifecycle;
        everything else keeps its state until the next regular tick. A fast tick that finds
        nothing crossed commits nothing and returns an empty report."""
        started = self.clock.monotonic()
        if self.shards is not None and not fast:
            if self.shards.claim():
                self._states = None  # other replicas committed these shards: read them again
            self._read_shared()
        self.source.begin()
        if fast:
            slos = await self._crossing(at)
            if not slos:
                n = len(self.fast_path.choice.fast)
                below = FastOutcome.BELOW if self.source.up else FastOutcome.FAILURE
                self.metrics.observe_fast_path(below, n)
                return TickReport(at=at, slos=(), fast=True, fast_path_slos=n)
        else:
            slos = self.slos
        if self.shards is not None:
            slos = [s for s in slos if self.shards.owns(s.name)]
        with self.collector.paused() if self.collector else nullcontext():
            report = await self._tick(at, slos, fast=fast)
        return self._publish(report, started)

    def _publish(self, report: TickReport, started: float) -> TickReport:
        """Report one tick to the metrics and to what the status API shows. Only defined SLOs
        are shown: a removed SLO whose episode is still open is fed gaps until it closes; its
        series go now, its episode stays listed."""
        index = slo_index(self.slos)
        slos_by_key = {
            ev.slo: slo for ev in report.evaluations if (slo := slo_for(index, ev.slo)) is not None
        }
        evaluations = [ev for ev in report.evaluations if ev.slo in slos_by_key]
        outcome = tick_outcome(evaluations)
        n = len(self.fast_path.choice.fast)
        shards = self.shards
        shared = [
            (committed(state), slo)
            for key, state in self.states().items()
            if shards is not None
            and not shards.owns(key)
            and (slo := slo_for(index, key)) is not None
        ]
        self.shown.update(
            report.at,
            evaluations,
            slos_by_key,
            prometheus_up=self.source.up,
            open_states=self.states().values(),
            fast=report.fast,
            shared=shared,
        )
        if report.fast:
            crossed = FastOutcome.CROSSED if outcome.successful else FastOutcome.FAILURE
            self.metrics.observe_fast_path(crossed, n)
        else:
            self.metrics.observe_fast_path(None, n)
            duration = self.clock.monotonic() - started
            self.metrics.observe_tick(duration, outcome, at=self.clock.now())
        self.shown.publish(self.metrics)
        counts = self.store.counts()
        self.metrics.set_outbox(counts.pending, counts.dead)
        held = None if self.shards is None else self.shards.held
        return replace(report, outcome=outcome, fast_path_slos=n, shards_held=held)

    async def _tick(self, at: float, slos: list[SLO], *, fast: bool) -> TickReport:
        choice = self.fast_path.choice
        if fast:
            evaluations = await self._evaluate([], slos, at)
        else:
            direct = [s for s in slos if s.name in choice.direct]
            rest = [s for s in slos if s.name not in choice.direct] if direct else slos
            evaluations = await self._evaluate(rest, direct, at)
        states = self.states()
        index = slo_index(self.slos)
        evaluated = {e.slo for e in evaluations}
        names = {s.name for s in slos}
        # An open episode whose key was not evaluated (its group vanished, its SLO was removed)
        # is fed a gap, so it can go stale instead of hanging silently. A fast tick only
        # answers for its own SLOs.
        for key, state in states.items():
            if not state.open or key in evaluated:
                continue
            if self.shards is not None and not self.shards.owns(key):
                continue  # another replica's
            owner = slo_for(index, key)
            if fast and (owner is None or owner.name not in names):
                continue
            why = (
                "not evaluated: no series for this key"
                if owner is not None
                else "not evaluated: the SLO is no longer defined"
            )
            evaluations.append(gap(key, at, why))
        stepped: list[tuple[SloReport, Outcome]] = []
        failures: list[str] = []
        for evaluation in evaluations:
            try:
                stepped.append(self._step(evaluation, states.get(evaluation.slo), index, at))
            except StoreError:
                raise
            except Exception as exc:  # the per-SLO boundary: log, count, go on
                failures.append(f"{evaluation.slo}: {type(exc).__name__}: {exc}")
                log.exception("processing %s failed", evaluation.slo, extra={"slo": evaluation.slo})
        # Every changed key in one transaction: one disk sync per tick, not one per key (with
        # 10,000 SLOs, per-key syncs took longer than the tick interval).
        changed = [
            (i, o)
            for i, (_, o) in enumerate(stepped)
            if not o.seen_only and (o.events or _moved(o, states))
        ]
        # Idle keys changed only in last_at: that alone is written (at 10,000 SLOs rewriting
        # every idle state was a tenth of the tick).
        seen = [o.state for _, o in stepped if o.seen_only]
        # Rows are due from the wall clock's now, not the evaluated instant: a replay of a past
        # instant (--at) is still delivered now, and not expired for its age.
        try:
            queued = self.store.commit_many(
                [(o.state, o.events, o.rows) for _, o in changed], self.clock.now(), seen=seen
            )
        except BaseException:
            self._states = None  # rolled back: the next tick reads the database again
            raise
        for _, o in changed:
            states[o.state.slo] = o.state
        for state in seen:
            states[state.slo] = state
        counts = {i: n for (i, _), n in zip(changed, queued, strict=True)}
        reports = []
        for i, (one, outcome) in enumerate(stepped):
            _log_events(outcome)
            n = counts.get(i, 0)
            reports.append(replace(one, queued=n) if n else one)
        self._choose(evaluations, states, index, names if fast else None)
        return TickReport(
            at=at,
            slos=tuple(reports),
            failures=tuple(failures),
            evaluations=tuple(evaluations),
            fast=fast,
        )

    async def _crossing(self, at: float) -> list[SLO]:
        """The fast path's SLOs with a tripwire crossed at ``at``."""
        choice = self.fast_path.choice
        watched = [s for s in self.slos if s.name in choice.fast]
        if not watched:
            return []
        tripwires = [(s, choice.tripwires.get(s.name, frozenset())) for s in watched]
        try:
            hit = await self.crossed(tripwires, self.source, at)
        except SloguardError as exc:  # the regular tick will report what is wrong
            log.debug("fast-path tripwire check failed: %s", exc)
            return []
        return [s for s in watched if s.name in hit]

    async def _evaluate(self, rest: list[SLO], direct: list[SLO], at: float) -> list[Evaluation]:
        """Evaluations of ``rest`` (recorded series where they run) and of ``direct`` (raw
        counters), in the order of ``self.slos``."""

        async def one(evaluate: Evaluate, slos: list[SLO]) -> list[Evaluation]:
            if not slos:
                return []
            try:
                return await evaluate(slos, self.source, at)
            except SloguardError as exc:  # the engine fails per SLO; this is a last resort
                return [gap(s.name, at, str(exc)) for s in slos]

        if not direct:
            return await one(self.evaluate, rest)
        if not rest:
            return await one(self.evaluate_direct, direct)
        first, second = await asyncio.gather(
            one(self.evaluate, rest), one(self.evaluate_direct, direct)
        )
        order = {s.name: i for i, s in enumerate(self.slos)}
        index = slo_index(self.slos)

        def position(ev: Evaluation) -> int:
            slo = slo_for(index, ev.slo)
            return order.get(slo.name, len(order)) if slo is not None else len(order)

        return sorted([*first, *second], key=position)

    def _choose(
        self,
        evaluations: Sequence[Evaluation],
        states: Mapping[str, EpisodeState],
        index: Mapping[str, SLO],
        only: set[str] | None,
    ) -> None:
        """Choose the fast path's SLOs for the next ticks from this tick's evaluations and the
        episodes open after it. A fast tick (``only``) updates only its own SLOs' heat."""
        if self.fast_path.limit <= 0:
            return
        hot = [ev for ev in evaluations if approach(ev) > 0.0]
        open_severity = {k: s.shown_severity for k, s in states.items() if s.open}
        slo_of = {}
        for key in {*(ev.slo for ev in hot), *open_severity}:
            slo = slo_for(index, key)
            if slo is not None and (only is None or slo.name in only):
                slo_of[key] = slo.name
        before = self.fast_path.update(hot, open_severity, slo_of, defined=index.keys(), only=only)
        after = self.fast_path.choice
        if after.left_out and not before.left_out:
            log.warning(
                "%d burning SLO(s) are over fast_path.max_slos (%d): they wait for the "
                "regular tick",
                after.left_out,
                self.fast_path.limit,
            )

    def _step(
        self,
        evaluation: Evaluation,
        state: EpisodeState | None,
        index: dict[str, SLO],
        at: float,
    ) -> tuple[SloReport, Outcome]:
        slo = slo_for(index, evaluation.slo)
        if slo is None:  # an SLO removed from the config: only its open episode is still kept
            slo = _retired(evaluation.slo)
        outcome = advance(slo, evaluation, state, at, self.paging, history=self.store.episode)
        report = SloReport(
            key=evaluation.slo,
            severity=evaluation.severity,
            phase=outcome.state.phase,
            episode_id=outcome.state.episode_id if outcome.state.open else "",
            events=outcome.events,
            queued=0,
            silenced=outcome.state.silenced,
            error=evaluation.error,
        )
        return report, outcome


def _moved(outcome: Outcome, states: dict[str, EpisodeState]) -> bool:
    """Whether the key's state changed (``last_at`` first: it moves for nearly every key, and
    comparing it is cheaper than comparing every field)."""
    old = states.get(outcome.state.slo)
    return old is None or outcome.state.last_at != old.last_at or outcome.state != old


def _retired(key: str) -> SLO:
    """A stand-in for an SLO that is no longer defined, so its open episode can still close."""
    return SLO(
        name=key,
        service="",
        objective_percent=99.9,
        period_seconds=30 * 86400,
        indicator=RawIndicator("vector(0)"),
    )


def _log_events(outcome: Outcome) -> None:
    """Log one key's committed events; warn about a page that no route sends anywhere."""
    for event in outcome.events:
        log.info(
            "%s %s %s%s",
            event.slo,
            event.kind.value,
            event.severity.name,
            " (paged)" if event.notify else "",
            extra={
                "slo": event.slo,
                "severity": event.severity.name,
                "dedup_key": event.episode_id,
                "event": event.kind.value,
                "evaluated_at": event.at,
            },
        )
    routed = {row.event_id for row in outcome.rows}
    for event in outcome.events:
        if event.notify and event.kind in _PAGES and event.event_id not in routed:
            log.warning(
                "%s %s at %s: no route sends this to any notifier, nobody was told "
                "(add a route for %s, see docs/config.md)",
                event.slo,
                event.kind.value,
                event.severity.name,
                event.severity.name,
                extra={
                    "slo": event.slo,
                    "severity": event.severity.name,
                    "dedup_key": event.episode_id,
                },
            )


__all__ = ["Crossed", "Evaluate", "SloReport", "Tick", "TickReport", "tick_outcome"]
