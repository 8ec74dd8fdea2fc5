"""What a backtest is asked (policies, options) and what it answers (episodes, a result)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sloguard.engine import SloPlan
from sloguard.lifecycle import Event, LifecyclePolicy
from sloguard.model import SLO, Severity, Tier

PROMETHEUS_MAX_POINTS = 11_000  # per series, per range query (Prometheus's own limit)
DEFAULT_MAX_POINTS = 10_000
DEFAULT_CONCURRENCY = 4
AUTO_BUDGET_POINTS = 1440  # with an automatic budget step, period queries get ~this many points
EXACT_BUDGET_STEPS = 2880  # ranges up to this many steps ask period queries at every step
SPEC_POLICY = "spec"


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
