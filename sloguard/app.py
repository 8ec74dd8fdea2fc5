"""The composition root: builds the daemon from its config and runs its ticks.

Everything the daemon does over its life is in this file (as kopf keeps its reactor in one):

* :func:`open_daemon` builds the parts from a :class:`~sloguard.config.DaemonConfig` (SLOs,
  Prometheus client, notifiers, state database, delivery loop) and closes them on exit;
* :meth:`Daemon.tick` is one evaluation at one pinned instant: evaluate every SLO, step each
  SLO key's episode, and commit each key's new state with its outbox rows in one transaction;
* :meth:`Daemon.once` is a tick plus one delivery pass (``sloguard run --once [--at]``);
* :class:`AppRuntime` adapts the Daemon to :mod:`sloguard.daemon`'s supervisor, which owns
  the schedule (ticks without overlap, delivery between them), signals, reload and the HTTP
  server.

Failures stay per SLO key: one that cannot be processed is logged and counted and the others go
on. A :class:`~sloguard.errors.StoreError` stops the tick: without a state database nothing
can be paged safely.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import httpx

from sloguard.burn import Evaluation, gap
from sloguard.clock import ScaledClock, SystemClock
from sloguard.config import DaemonConfig, RecordedSeriesConfig, load_config
from sloguard.daemon import (
    DeliveryResult,
    Runtime,
    Supervisor,
    SupervisorOptions,
    TickResult,
    serve,
)
from sloguard.delivery import Deliverer, DeliveryStats, DrainReport, RetryPolicy
from sloguard.engine import auto_direct_windows, evaluate_all
from sloguard.engine import crossed as _crossed
from sloguard.errors import SloguardError, StoreError
from sloguard.lifecycle import EpisodeState, Event, EventKind, LifecyclePolicy, Phase
from sloguard.model import SLO, RawIndicator, Severity
from sloguard.notify import build_notifier
from sloguard.paging import Outcome, PagingPolicy, advance, slo_for, slo_index
from sloguard.ports import Clock, Source
from sloguard.prometheus.client import PrometheusClient
from sloguard.prometheus.reachability import Reachability
from sloguard.routing import Matcher, Route, Silence
from sloguard.spec import load_slos
from sloguard.store import OutboxCounts, Store
from sloguard.watch import Heat, Watch, approach, choose, heat

log = logging.getLogger("sloguard.app")

Evaluate = Callable[[Sequence[SLO], Source, float], Awaitable[list[Evaluation]]]
# Which of the fast path's SLOs have a probed long window over its factor (engine.crossed).
Probe = Callable[
    [Sequence[tuple[SLO, Iterable[tuple[int, float]]]], Source, float], Awaitable[set[str]]
]


# Events that page: one with no recipient at all is logged as a warning, never silently dropped.
_PAGES = frozenset({EventKind.DECLARED, EventKind.ESCALATED})


@dataclass(frozen=True, slots=True)
class SloReport:
    """One SLO key after a tick, as the CLI summary and the status API show it."""

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
    at: float
    slos: tuple[SloReport, ...]
    failures: tuple[str, ...] = ()
    delivery: DrainReport = field(default_factory=DrainReport)
    outbox: OutboxCounts = field(default_factory=lambda: OutboxCounts(0, 0, 0))
    evaluations: tuple[Evaluation, ...] = ()  # what the engine said (metrics, status API)
    fast: bool = False  # a fast-path tick: only the SLOs of Daemon.watch.fast were evaluated


class Daemon:
    """One sloguard: SLOs, a source, the paging policy, the store and the delivery loop."""

    def __init__(
        self,
        *,
        slos: Sequence[SLO],
        source: Source,
        evaluate: Evaluate,
        paging: PagingPolicy,
        store: Store,
        deliverer: Deliverer,
        clock: Clock,
        interval_seconds: float = 30.0,
        evaluate_direct: Evaluate | None = None,
        fast_path_max_slos: int = 0,
        probe: Probe | None = None,
    ) -> None:
        self.slos = list(slos)
        self.source = source
        self.evaluate = evaluate
        # Reads every window from the raw counters: the fast path's SLOs (see sloguard.watch).
        self.evaluate_direct = evaluate_direct or evaluate
        self.fast_path_max_slos = fast_path_max_slos
        self.probe: Probe = probe or _crossed
        self.watch = Watch()
        self._heat: dict[str, Heat] = {}
        self.paging = paging
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.last_tick: TickReport | None = None
        self._states: dict[str, EpisodeState] | None = None

    def states(self) -> dict[str, EpisodeState]:
        """Every key's committed episode state: read from the store once, then kept as each
        tick commits it (the daemon is its store's one writer; at 10,000 SLOs reading them
        back every tick cost a tenth of the tick)."""
        if self._states is None:
            self._states = self.store.load_states()
        return self._states

    async def tick(self, at: float, *, fast: bool = False) -> TickReport:
        """Evaluate every SLO at ``at`` and commit what changed. No delivery.

        With ``fast``, the SLOs of the fast path (``self.watch``, chosen after the previous
        tick) are probed: one query per approaching tier's long window. Only those whose long
        window is over its factor are evaluated, in full and from the raw counters, and fed to
        the lifecycle; everything else keeps its state until the next regular tick. A probe
        that finds nothing commits nothing and returns an empty report."""
        if fast:
            slos = await self._crossing(at)
            if not slos:
                return TickReport(at=at, slos=(), fast=True)
        else:
            slos = self.slos
        with _collector_paused():
            return await self._tick(at, slos, fast=fast)

    async def _tick(self, at: float, slos: list[SLO], *, fast: bool) -> TickReport:
        if fast:
            evaluations = await self._evaluate([], slos, at)
        else:
            direct = [s for s in slos if s.name in self.watch.direct]
            rest = [s for s in slos if s.name not in self.watch.direct] if direct else slos
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
        self._rewatch(evaluations, states, index, names if fast else None)
        report = TickReport(
            at=at,
            slos=tuple(reports),
            failures=tuple(failures),
            evaluations=tuple(evaluations),
            fast=fast,
        )
        self.last_tick = report
        return report

    async def _crossing(self, at: float) -> list[SLO]:
        """The fast path's SLOs whose probed long window is over its factor at ``at``."""
        watched = [s for s in self.slos if s.name in self.watch.fast]
        if not watched:
            return []
        probes = [(s, self.watch.probes.get(s.name, frozenset())) for s in watched]
        try:
            hit = await self.probe(probes, self.source, at)
        except SloguardError as exc:  # the regular tick will report what is wrong
            log.debug("fast-path probe failed: %s", exc)
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

    def _rewatch(
        self,
        evaluations: Sequence[Evaluation],
        states: Mapping[str, EpisodeState],
        index: Mapping[str, SLO],
        only: set[str] | None,
    ) -> None:
        """Choose the fast path's SLOs for the next ticks (sloguard.watch) from this tick's
        evaluations and the episodes open after it. A fast tick (``only``) updates only its
        own SLOs' heat; a regular tick starts afresh."""
        if self.fast_path_max_slos <= 0:
            return
        hot = [ev for ev in evaluations if approach(ev) > 0.0]
        open_severity = {k: s.shown_severity for k, s in states.items() if s.open}
        slo_of = {}
        for key in {*(ev.slo for ev in hot), *open_severity}:
            slo = slo_for(index, key)
            if slo is not None and (only is None or slo.name in only):
                slo_of[key] = slo.name
        fresh = heat(hot, open_severity, slo_of)
        if only is None:
            self._heat = fresh
        else:
            kept = {n: h for n, h in self._heat.items() if n not in only and n in index}
            self._heat = kept | fresh
        before = self.watch
        self.watch = choose(self._heat, self.fast_path_max_slos)
        if self.watch.left_out and not before.left_out:
            log.warning(
                "%d burning SLO(s) are over fast_path.max_slos (%d): they wait for the "
                "regular tick",
                self.watch.left_out,
                self.fast_path_max_slos,
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

    async def deliver(self) -> DrainReport:
        return await self.deliverer.drain()

    async def once(self, at: float | None = None) -> TickReport:
        """One tick at ``at`` (default: now) and one delivery pass."""
        tick = await self.tick(self.clock.now() if at is None else at)
        delivery = await self.deliver()
        report = TickReport(
            at=tick.at,
            slos=tick.slos,
            failures=tick.failures,
            delivery=delivery,
            outbox=self.store.counts(),
            evaluations=tick.evaluations,
        )
        self.last_tick = report
        return report


class _Pause:
    depth = 0  # ticks under way that paused the collector (two daemons' ticks may overlap)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic cycle collection while a tick runs; one young collection at its end.

    A tick of 10,000 SLOs allocates millions of small objects, many of them alive until it
    ends (answers, evaluations, states) and nearly none in a reference cycle: reference
    counting frees them. Left on, the collector ran about 1,450 collections during one such
    tick (7 of them full, walking everything alive): 0.8 s of the tick's 1.9 s of CPU
    (``python -m bench.profile_tick --http``). The young collection at the end frees any cycle
    the tick made, and its cost counts in the tick.
    """
    if _Pause.depth == 0 and not gc.isenabled():
        yield  # turned off by whoever runs us: leave it so
        return
    _Pause.depth += 1
    gc.disable()
    try:
        yield
    finally:
        _Pause.depth -= 1
        if _Pause.depth == 0:
            gc.enable()
            gc.collect(0)


def _moved(outcome: Outcome, states: dict[str, EpisodeState]) -> bool:
    """Whether the key's state changed (``last_at`` first: it moves for nearly every key, and
    comparing it is cheaper than comparing every field)."""
    old = states.get(outcome.state.slo)
    return old is None or outcome.state.last_at != old.last_at or outcome.state != old


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


def _retired(key: str) -> SLO:
    """A stand-in for an SLO that is no longer defined, so its open episode can still close."""
    return SLO(
        name=key,
        service="",
        objective_percent=99.9,
        period_seconds=30 * 86400,
        indicator=RawIndicator("vector(0)"),
    )


# --- from config to parts ---------------------------------------------------------------------


def paging_policy(config: DaemonConfig) -> PagingPolicy:
    """Routes, silences and lifecycle settings of the config, in the core's types."""
    return PagingPolicy(
        lifecycle=LifecyclePolicy(
            quiet_period_seconds=config.lifecycle.quiet_period_seconds,
            stale_after_seconds=config.lifecycle.stale_after_seconds,
        ),
        routes=tuple(
            Route(
                notifiers=tuple(r.notifiers),
                severities=frozenset(Severity[s] for s in r.match.severity),
                match=Matcher(frozenset(r.match.slos), MappingProxyType(dict(r.match.labels))),
            )
            for r in config.routes
        ),
        silences=tuple(
            Silence(
                reason=s.reason,
                start=s.start.timestamp(),
                end=s.end.timestamp(),
                match=Matcher(frozenset(s.match.slos), MappingProxyType(dict(s.match.labels))),
            )
            for s in config.silences
        ),
    )


def retry_policy(config: DaemonConfig) -> RetryPolicy:
    d = config.delivery
    return RetryPolicy(
        initial_backoff_seconds=d.initial_backoff_seconds,
        max_backoff_seconds=d.max_backoff_seconds,
        attempt_timeout_seconds=d.attempt_timeout_seconds,
        max_retry_after_seconds=d.max_retry_after_seconds,
        give_up_after_seconds=d.give_up_after_seconds,
    )


def evaluator(settings: RecordedSeriesConfig) -> Evaluate:
    """The engine with the config's ``recorded_series`` settings (see docs/config.md); an unset
    ``direct_windows_max_seconds`` reads the paging tiers' short windows directly in fleets of
    up to 500 SLOs (engine.auto_direct_windows)."""
    recorded = settings.mode == "auto"
    explicit = settings.direct_windows_max_seconds

    async def evaluate(slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        direct_max = explicit if explicit is not None else auto_direct_windows(slos)
        return await evaluate_all(
            slos, source, at, recorded=recorded, direct_windows_max_seconds=direct_max
        )

    return evaluate


@asynccontextmanager
async def open_daemon(
    config: DaemonConfig,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    source: Source | None = None,
) -> AsyncIterator[Daemon]:
    """Build every part the config describes; close them all on exit.

    ``source`` replaces the Prometheus client built from the config (the caller closes it).

    Raises ConfigError (bad SLO files are reported as SpecError, unreadable secrets as
    ConfigError naming the notifier and field) and StoreError before anything is evaluated.
    """
    clock = clock or SystemClock()
    slos = load_slos(config.slo_paths)
    async with AsyncExitStack() as stack:
        store = Store.open(config.state_path)
        stack.callback(store.close)
        if source is None:
            client = PrometheusClient(config.prometheus)
            stack.push_async_callback(client.aclose)
            source = client
        http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        stack.push_async_callback(http.aclose)
        notifiers = {
            n.name: build_notifier(n, http, where=config.where(n.name)) for n in config.notifiers
        }
        deliverer = Deliverer(
            store,
            notifiers,
            clock,
            policy=retry_policy(config),
            rng=rng,
            concurrency=config.delivery.concurrency,
        )
        yield Daemon(
            slos=slos,
            source=source,
            evaluate=evaluator(config.recorded_series),
            paging=paging_policy(config),
            store=store,
            deliverer=deliverer,
            clock=clock,
            interval_seconds=config.interval_seconds,
            evaluate_direct=evaluator(RecordedSeriesConfig(mode="off")),
            fast_path_max_slos=(
                config.fast_path.max_slos if config.fast_path_interval_seconds > 0 else 0
            ),
        )


# --- the long-running daemon (``sloguard run`` without --once) -------------------------------


# Delivery failure reasons (sloguard.delivery) that leave the row pending for another attempt.
_RETRY_REASONS = frozenset({"transient", "timeout", "error"})


class AppRuntime:
    """One loaded configuration as the :class:`~sloguard.daemon.Supervisor` drives it."""

    def __init__(
        self,
        config_path: Path,
        config: DaemonConfig,
        daemon: Daemon,
        probe: Reachability,
        stack: AsyncExitStack,
    ) -> None:
        self.config = config
        self.daemon = daemon
        self._probe = probe
        self._stack = stack
        self._seen = DeliveryStats()
        self.interval_seconds = config.interval_seconds
        self.fast_interval_seconds = config.fast_path_interval_seconds
        self.jitter_ratio = config.interval_jitter_ratio
        self.http_listen = config.http.listen
        self.watched_paths = [config_path, *(Path(p) for p in config.slo_paths)]
        self.integrations = sorted({n.type for n in config.notifiers})

    async def tick(self, at: float, *, fast: bool = False) -> TickResult:
        self._probe.begin()
        report = await self.daemon.tick(at, fast=fast)
        if fast and not report.slos:  # a probe that found nothing: nothing changed either
            return TickResult(
                at=at,
                evaluations=(),
                slos_by_key={},
                prometheus_up=self._probe.up,
                fast_path_slos=len(self.daemon.watch.fast),
            )
        states = self.daemon.states()
        counts = self.daemon.store.counts()
        index = slo_index(self.daemon.slos)
        # Only defined SLOs are exported: a removed SLO whose episode is still open is fed gaps
        # until it closes (see Daemon.tick); its series go now, its episode stays listed.
        slos_by_key = {
            ev.slo: slo for ev in report.evaluations if (slo := slo_for(index, ev.slo)) is not None
        }
        evaluations = tuple(ev for ev in report.evaluations if ev.slo in slos_by_key)
        open_states = [s for s in states.values() if s.open]
        by_severity: dict[Severity, int] = {}
        for state in open_states:
            sev = state.shown_severity
            by_severity[sev] = by_severity.get(sev, 0) + 1
        return TickResult(
            at=at,
            evaluations=evaluations,
            slos_by_key=slos_by_key,
            prometheus_up=self._probe.up,
            open_episodes=by_severity,
            episodes=[s.to_json() for s in open_states],
            outbox_pending=counts.pending,
            dead_letters=counts.dead,
            fast_path_slos=len(self.daemon.watch.fast),
        )

    async def deliver(self) -> DeliveryResult:
        await self.daemon.deliver()
        stats = self.daemon.deliverer.stats
        delta: dict[tuple[str, str], int] = {}
        for integration, n in (stats.sent - self._seen.sent).items():
            delta[(integration, "sent")] = n
        for (integration, reason), n in (stats.failed - self._seen.failed).items():
            if reason in _RETRY_REASONS:
                key = (integration, "retry")
                delta[key] = delta.get(key, 0) + n
        for integration, n in (stats.dead_lettered - self._seen.dead_lettered).items():
            delta[(integration, "dead_letter")] = n
        self._seen = DeliveryStats(
            sent=stats.sent.copy(),
            failed=stats.failed.copy(),
            dead_lettered=stats.dead_lettered.copy(),
        )
        counts = self.daemon.store.counts()
        due = self.daemon.store.next_due_at()
        return DeliveryResult(
            counts=delta,
            outbox_pending=counts.pending,
            dead_letters=counts.dead,
            next_due_in_seconds=None if due is None else due - self.daemon.clock.now(),
        )

    async def aclose(self) -> None:
        await self._stack.aclose()


async def load_runtime(
    config_path: str | Path, *, clock: Clock, rng: random.Random | None = None
) -> AppRuntime:
    """Read the config and the SLO files and build every part; the located errors of
    ``sloguard validate`` (ConfigError, SpecError) when they are invalid."""
    path = Path(config_path)
    config = load_config(path)
    async with AsyncExitStack() as stack:
        client = PrometheusClient(config.prometheus)
        stack.push_async_callback(client.aclose)
        probe = Reachability(client)
        daemon = await stack.enter_async_context(
            open_daemon(config, clock=clock, rng=rng, source=probe)
        )
        runtime = AppRuntime(path, config, daemon, probe, stack.pop_all())
    log.info(
        "configuration loaded: %d SLO(s), %d notifier(s), a tick every %gs",
        len(daemon.slos),
        len(config.notifiers),
        config.interval_seconds,
    )
    return runtime


async def run_daemon(
    config_path: str | Path,
    *,
    clock: Clock | None = None,
    options: SupervisorOptions | None = None,
    on_started: Callable[[Supervisor, tuple[str, int]], None] | None = None,
) -> None:
    """``sloguard run``: serve until SIGTERM/SIGINT, reload on SIGHUP or a file change.

    With a :class:`~sloguard.clock.ScaledClock` the schedule runs faster, but file polling and
    the shutdown deadline stay in real seconds (5 s and 8 s)."""
    clock = clock or SystemClock()
    if options is None:
        speed = clock.speed if isinstance(clock, ScaledClock) else 1.0
        options = SupervisorOptions(
            watch_interval_seconds=5.0 * speed,
            shutdown_timeout_seconds=8.0 * speed,
            max_delivery_wait_seconds=30.0 * speed,
        )

    async def loader(previous: Runtime | None) -> Runtime:
        return await load_runtime(config_path, clock=clock)

    await serve(loader, clock=clock, options=options, on_started=on_started)
