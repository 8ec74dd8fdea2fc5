"""Budget events: the error budget crossing the policy's lines, once per crossing. Pure.

The error-budget policy of the SRE Workbook acts when the budget left over the SLO period
falls through a line (default 50 %, 25 % and 0 % left): a warning, a release freeze. Each line
crossed downwards gives one ``budget.threshold_crossed`` event (``budget.exhausted`` for the
0 % line); the budget climbing back above a line *and* the hysteresis margin gives one
``budget.recovered``. A budget hovering around a line therefore fires once, not every tick.

The state is one integer per SLO key, the *level*: how many lines (highest first) the budget is
below. It is kept in the episode state (:class:`~sloguard.lifecycle.EpisodeState`) and written
in the same transaction as the outbox rows of its events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BudgetEventKind(StrEnum):
    THRESHOLD_CROSSED = "budget.threshold_crossed"
    EXHAUSTED = "budget.exhausted"
    RECOVERED = "budget.recovered"


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """The lines (percent of the budget left, highest first) and the recovery margin."""

    thresholds_percent: tuple[float, ...] = (50.0, 25.0, 0.0)
    hysteresis_percent: float = 5.0

    def __post_init__(self) -> None:
        if list(self.thresholds_percent) != sorted(set(self.thresholds_percent), reverse=True):
            raise ValueError("thresholds_percent must be distinct and in descending order")
        if self.hysteresis_percent < 0:
            raise ValueError("hysteresis_percent must not be negative")


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """One line crossed: ``threshold_percent`` is the line, ``remaining`` the budget left."""

    kind: BudgetEventKind
    threshold_percent: float
    remaining: float


def _below(remaining_percent: float, line: float) -> bool:
    # The 0 % line is crossed when the budget is gone (<= 0); the others when it is below them.
    return remaining_percent <= 0.0 if line <= 0.0 else remaining_percent < line


def step_budget(
    level: int, remaining: float | None, policy: BudgetPolicy
) -> tuple[int, tuple[BudgetEvent, ...]]:
    """The new level and the events of one evaluation's ``remaining`` budget (a ratio, None
    when unknown: nothing changes on a gap in the data)."""
    if remaining is None:
        return level, ()
    pct = remaining * 100.0
    lines = policy.thresholds_percent
    if level == 0 and lines and lines[0] > 0.0 and pct >= lines[0]:
        # Above the highest line, so above every line (they descend, and pct > 0): the common
        # key of a fleet, every tick, without the two passes below.
        return 0, ()
    down = sum(1 for line in lines if _below(pct, line))
    if down > level:
        return down, tuple(
            BudgetEvent(
                BudgetEventKind.EXHAUSTED if line <= 0.0 else BudgetEventKind.THRESHOLD_CROSSED,
                line,
                remaining,
            )
            for line in lines[level:down]
        )
    margin = policy.hysteresis_percent
    up = sum(1 for line in lines if _below(pct - margin, line))
    if up < level:
        recovered = lines[up:level]
        return up, tuple(
            BudgetEvent(BudgetEventKind.RECOVERED, line, remaining) for line in reversed(recovered)
        )
    return level, ()


def budget_event_id(key: str, event: BudgetEvent, at: float) -> str:
    """Unique per (SLO key, line, direction, instant): the idempotency key of its delivery."""
    return f"budget:{key}:{event.kind.value}:{event.threshold_percent:g}:{at:.0f}"


def budget_summary(slo: str, event: BudgetEvent, period: str) -> str:
    """One line a team can act on."""
    left = f"{event.remaining * 100:.1f}% of the {period} error budget left"
    if event.kind is BudgetEventKind.EXHAUSTED:
        return f"{slo}: error budget exhausted ({left}): freeze risky releases"
    if event.kind is BudgetEventKind.RECOVERED:
        return f"{slo}: error budget recovered above {event.threshold_percent:g}% ({left})"
    return f"{slo}: error budget fell below {event.threshold_percent:g}% ({left})"


__all__ = [
    "BudgetEvent",
    "BudgetEventKind",
    "BudgetPolicy",
    "budget_event_id",
    "budget_summary",
    "step_budget",
]
