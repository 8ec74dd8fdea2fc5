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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sloguard.burn import Evaluation, gap
from sloguard.durations import format_duration
from sloguard.engine import Engine, SloPlan, evaluate_planned
from sloguard.errors import SloguardError
from sloguard.lifecycle import EpisodeState, Event, EventKind, LifecyclePolicy, step
from sloguard.model import SLO, Severity, Tier
from sloguard.ports import Sample, Series, Source

PROMETHEUS_MAX_POINTS = 11_000  # per series, per range query (Prometheus's own limit)
DEFAULT_MAX_POINTS = 10_000
DEFAULT_CONCURRENCY = 4
AUTO_BUDGET_POINTS = 1440  # with an automatic budget step, period queries get ~this many points
EXACT_BUDGET_STEPS = 2880  # ranges up to this many steps ask period queries at every step
SPEC_POLICY = "spec"
YIELD_EVERY = 64  # steps evaluated between two turns of the event loop
GAP_ERROR = "not evaluated: no series for this key"


@dataclass(frozen=True, slots=True)
class Policy:
    """A set of tiers to replay. ``tiers=None`` keeps each SLO's own tiers (the "spec" policy)."""

    name: str
    tiers: tuple[Tier, ...] | None = None
    source: str = ""

    def apply(self, slo: SLO) -> SLO:
        return slo if self.tiers is None else replace(slo, tiers=self.tiers)


@dataclass(frozen=True, slots=True)
class Options:
    start: float
    end: float
    step: float = 30.0
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    max_points_per_query: int = DEFAULT_MAX_POINTS
    concurrency: int = DEFAULT_CONCURRENCY
    budget_step: float | None = None  # None: automatic (see budget_step_for)
    record_series: bool = False  # keep burn rates and budget per step (for --plot)

    def __post_init__(self) -> None:
        if not self.step > 0:
            raise ValueError("step must be positive")
        if self.end < self.start:
            raise ValueError("the end of the range is before its start")
        if not 1 <= self.max_points_per_query <= PROMETHEUS_MAX_POINTS:
            raise ValueError(f"max_points_per_query must be 1..{PROMETHEUS_MAX_POINTS}")

    @property
    def steps(self) -> int:
        return math.floor((self.end - self.start) / self.step + 1e-9) + 1

    def at(self, index: int) -> float:
        return self.start + index * self.step


def budget_step_for(options: Options) -> float:
    """The step of period-only queries: ``options.budget_step`` rounded up to a multiple of the
    step; automatic: every step for ranges up to 2,880 steps, else ~1,440 points over the range."""
    if options.budget_step is not None:
        return max(1, math.ceil(options.budget_step / options.step - 1e-9)) * options.step
    if options.steps <= EXACT_BUDGET_STEPS:
        return options.step
    return math.ceil(options.steps / AUTO_BUDGET_POINTS) * options.step


@dataclass(frozen=True, slots=True)
class SeverityChange:
    at: float
    severity: Severity


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode the daemon would have had, with its impact (see docs/backtest.md)."""

    policy: str
    slo: str  # the SLO key (name, or name{labels} for a group)
    slo_name: str
    episode_id: str
    declared_at: float
    severities: tuple[SeverityChange, ...]
    resolved_at: float | None
    burn_started_at: float
    peak_burn_rate: float
    burn_window: str  # the window burn start, peak and budget consumed are measured on
    budget_consumed: float
    budget_remaining: float | None  # last known during the episode
    events: tuple[Event, ...]
    started_before_range: bool = False

    @property
    def severity_max(self) -> Severity:
        return max(c.severity for c in self.severities)

    @property
    def time_to_declare_seconds(self) -> float:
        return self.declared_at - self.burn_started_at

    @property
    def pages(self) -> int:
        return sum(1 for e in self.events if e.notify)


@dataclass(slots=True)
class KeySeries:
    """Per-step burn rates (per window) and budget remaining of one SLO key; NaN = unknown."""

    burn: dict[int, array[float]]  # by window seconds
    budget: array[float]


@dataclass(slots=True)
class Result:
    options: Options
    slos: tuple[SLO, ...]
    policies: tuple[Policy, ...]
    episodes: list[Episode]
    errors: dict[str, int]  # distinct query/evaluation error -> steps it affected
    requests: int  # range queries sent
    budget_step: float
    series: dict[str, KeySeries] = field(default_factory=dict)
    plans: dict[str, tuple[SloPlan, ...]] = field(default_factory=dict)  # per policy


Progress = Callable[[int], None]


# --------------------------------------------------------------------------- fetching


@dataclass(slots=True)
class _Answer:
    """One expression over one chunk: per series its labels, values and which steps have one."""

    labels: list[Mapping[str, str]]
    values: list[array[float]]
    present: list[bytearray]


@dataclass(slots=True)
class _Chunk:
    first: int  # index of its first step in the range
    size: int
    fine: dict[str, _Answer | SloguardError]
    coarse: dict[str, _Answer | SloguardError]
    coarse_first: int  # index on the budget grid of the coarse answers' first point


def _index(series: Sequence[Series], start: float, step: float, size: int) -> _Answer:
    answer = _Answer([], [], [])
    for s in series:
        values = array("d", bytes(8 * size))
        present = bytearray(size)
        for ts, value in s.points:
            i = round((ts - start) / step)
            if 0 <= i < size and abs(start + i * step - ts) < 1e-3:
                values[i] = value
                present[i] = 1
        answer.labels.append(dict(s.labels))
        answer.values.append(values)
        answer.present.append(present)
    return answer


class _Fetcher:
    def __init__(self, source: Source, options: Options, budget_step: float) -> None:
        self.source = source
        self.options = options
        self.budget_step = budget_step
        self.semaphore = asyncio.Semaphore(max(1, options.concurrency))
        self.requests = 0

    async def _ask(
        self, expr: str, start: float, step: float, size: int
    ) -> _Answer | SloguardError:
        end = start + (size - 1) * step
        async with self.semaphore:
            self.requests += 1
            try:
                series = await self.source.query_range(expr, start, end, step)
            except SloguardError as exc:
                return exc
            except Exception as exc:  # noqa: BLE001 - per-query boundary, as in the engine
                return SloguardError(f"unexpected {type(exc).__name__}: {exc}")
        return _index(series, start, step, size)

    async def chunk(self, first: int, size: int, fine: list[str], coarse: list[str]) -> _Chunk:
        o = self.options
        start = o.at(first)
        ratio = round(self.budget_step / o.step)
        c_first = first // ratio
        c_last = (first + size - 1) // ratio
        c_size = c_last - c_first + 1
        c_start = o.start + c_first * self.budget_step
        tasks = [self._ask(q, start, o.step, size) for q in fine]
        tasks += [self._ask(q, c_start, self.budget_step, c_size) for q in coarse]
        answers = await asyncio.gather(*tasks)
        return _Chunk(
            first=first,
            size=size,
            fine=dict(zip(fine, answers[: len(fine)], strict=True)),
            coarse=dict(zip(coarse, answers[len(fine) :], strict=True)),
            coarse_first=c_first,
        )


def _samples(answer: _Answer | SloguardError, i: int) -> list[Sample] | SloguardError:
    if isinstance(answer, SloguardError):
        return answer
    return [
        Sample(labels, values[i])
        for labels, values, present in zip(
            answer.labels, answer.values, answer.present, strict=True
        )
        if present[i]
    ]


# --------------------------------------------------------------------------- replaying


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
        self.plan = Engine().plan(variants)  # one plan per run: nothing to remember
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

    async def run_chunk(self, chunk: _Chunk) -> None:
        for offset in range(chunk.size):
            if offset % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the next chunk's requests make progress
            index = chunk.first + offset
            at = self.options.at(index)
            c = index // self.budget_ratio - chunk.coarse_first
            answers: dict[str, list[Sample] | SloguardError] = {
                q: _samples(a, offset) for q, a in chunk.fine.items()
            }
            answers.update({q: _samples(a, c) for q, a in chunk.coarse.items()})
            for policy in self.policies:
                evaluations: list[tuple[SLO, Evaluation]] = []
                for sp in self.plans[policy.name]:
                    evaluations.extend((sp.slo, e) for e in evaluate_planned(sp, answers, at))
                self._apply(policy, evaluations, index, at)

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
                budget_consumed=state.burn_seconds / current.slo.period_seconds,
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
    evaluations with the reason, counted in :attr:`Result.errors`.
    """
    if not policies:
        raise ValueError("no policy to replay")
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be distinct: {names}")
    replayer = _Replayer(slos, policies, options)
    budget_step = budget_step_for(options)
    replayer.budget_ratio = round(budget_step / options.step)
    fetcher = _Fetcher(source, options, budget_step)
    size = options.max_points_per_query
    starts = list(range(0, options.steps, size))

    def fetch(first: int) -> asyncio.Task[_Chunk]:
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
        requests=fetcher.requests,
        budget_step=budget_step,
        series=replayer.series,
        plans=dict(replayer.plans),
    )
