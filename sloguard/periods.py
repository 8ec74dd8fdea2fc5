"""Calendar periods: the day, ISO week or month an SLO's budget belongs to, in its time zone.

A calendar SLO's budget resets at the start of each period; at instant T its budget window is
[start of T's period, T]. Periods are anchored on a wall-clock time in the time zone (by default
midnight of Monday 1 January 2024, so days start at midnight, weeks on Monday as ISO 8601 has
it, months on the 1st) and follow the wall clock: a day with a DST change is 23 or 25 hours
long, a month 28 to 31 days. A wall time that does not exist in the zone (in the hour a DST
change skips) is read with the offset before the change, as ``zoneinfo`` does for ``fold=0``.
Pure: the instant is an argument.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_START = datetime(2024, 1, 1)  # a Monday and the 1st of a month, at midnight
MONTH_DAY_MAX = 28  # a later anchor day would not exist in every month


class CalendarUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def nominal_seconds(self) -> int:
        """The period length the burn-rate tiers are scaled by (a month counts 30 days, as the
        30-day defaults of DESIGN.md do); budgets use the current period's real length."""
        return {"day": 86400, "week": 7 * 86400, "month": 30 * 86400}[self.value]


@dataclass(frozen=True, slots=True)
class Calendar:
    """A calendar period: ``unit`` long, starting at ``start`` (wall time) plus whole units."""

    unit: CalendarUnit
    time_zone: str = "UTC"
    start: datetime = DEFAULT_START

    def __post_init__(self) -> None:
        zone(self.time_zone)  # fail at construction, not at the first evaluation
        if self.start.tzinfo is not None:
            raise ValueError("a calendar start is a wall-clock time, without a UTC offset")
        if self.unit is CalendarUnit.MONTH and self.start.day > MONTH_DAY_MAX:
            raise ValueError(
                f"a monthly period cannot start on day {self.start.day}: not every month has "
                f"it; start on day 1 to {MONTH_DAY_MAX}"
            )

    def describe(self) -> str:
        """How pages and docs name the period: ``calendar month (America/New_York)``."""
        return f"calendar {self.unit.value} ({self.time_zone})"


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError naming an example when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time zone {name!r} is not an IANA time zone name (e.g. UTC, Europe/Berlin, "
            "America/New_York)"
        ) from None


def period_bounds(calendar: Calendar, at: float) -> tuple[float, float]:
    """The start and end (unix seconds, end exclusive) of the period holding instant ``at``."""
    tz = zone(calendar.time_zone)
    local = datetime.fromtimestamp(at, tz).replace(tzinfo=None)
    start = _start_near(calendar, local)
    if _stamp(start, tz) > at:
        start = _shift(calendar, start, -1)
    else:
        following = _shift(calendar, start, 1)
        if _stamp(following, tz) <= at:  # a wall clock that repeated an hour (DST end)
            start = following
    return _stamp(start, tz), _stamp(_shift(calendar, start, 1), tz)


def elapsed_seconds(calendar: Calendar, at: float) -> int:
    """Whole seconds from the start of ``at``'s period to ``at``, at least 1 (a PromQL range
    must be positive; the first second of a period has no data anyway)."""
    start, _ = period_bounds(calendar, at)
    return max(1, math.floor(at - start))


def period_length_seconds(calendar: Calendar, at: float) -> float:
    """The real length of ``at``'s period: 82800 for a day that skips an hour."""
    start, end = period_bounds(calendar, at)
    return end - start


def period_slices(calendar: Calendar, start: float, end: float) -> list[tuple[float, float]]:
    """The part of ``[start, end)`` in each period it touches, in order: a report over June
    and July of a monthly SLO is June's part, then July's."""
    out: list[tuple[float, float]] = []
    at = start
    while at < end:
        _, following = period_bounds(calendar, at)
        out.append((at, min(following, end)))
        at = following
    return out


@dataclass(frozen=True, slots=True)
class StepRange:
    """A range query that reads one calendar period's budget step by step: points at whole
    ``step_seconds`` from the period's start ``since`` (the first one step after it), from
    ``first`` to ``last``, each point's window being the step before it, so the windows tile
    the period from its start and running sums of them are the period's sums so far."""

    since: float
    first: float
    last: float
    step_seconds: int


def step_ranges(calendar: Calendar, start: float, end: float, step_seconds: int) -> list[StepRange]:
    """The step ranges that cover ``[start, end]``, one per period it touches; each starts at
    its period's start (a budget at ``start`` needs the period's steps before it)."""
    out: list[StepRange] = []
    for part_start, part_end in period_slices(calendar, start, end):
        since, _ = period_bounds(calendar, part_start)
        first = since + step_seconds
        if first <= part_end:
            last = first + (part_end - first) // step_seconds * step_seconds
            out.append(StepRange(since, first, last, step_seconds))
    return out


def period_name(calendar: Calendar, at: float) -> str:
    """How a report names ``at``'s period, on the wall clock of its time zone: ``March 2024``,
    ``week of 4 Mar 2024``, ``4 Mar 2024``; with the start time when the anchor is not
    midnight (``month from 15 Mar 2024 06:00``)."""
    start, _ = period_bounds(calendar, at)
    local = datetime.fromtimestamp(start, zone(calendar.time_zone))
    day = f"{local.day} {local:%b %Y}"
    if local.time() != datetime.min.time():
        return f"{calendar.unit.value} from {day} {local:%H:%M}"
    if calendar.unit is CalendarUnit.MONTH:
        return f"{local:%B %Y}" if local.day == 1 else f"month from {day}"
    return f"week of {day}" if calendar.unit is CalendarUnit.WEEK else day


def _start_near(calendar: Calendar, local: datetime) -> datetime:
    """The period start on or just before the wall time ``local`` (one step off at most)."""
    anchor = calendar.start
    if calendar.unit is CalendarUnit.DAY:
        return datetime.combine(local.date(), anchor.time())
    if calendar.unit is CalendarUnit.WEEK:
        back = (local.weekday() - anchor.weekday()) % 7
        return datetime.combine(local.date() - timedelta(days=back), anchor.time())
    return datetime.combine(local.date().replace(day=anchor.day), anchor.time())


def _shift(calendar: Calendar, start: datetime, steps: int) -> datetime:
    """``start`` moved by ``steps`` periods on the wall clock."""
    if calendar.unit is CalendarUnit.DAY:
        return start + timedelta(days=steps)
    if calendar.unit is CalendarUnit.WEEK:
        return start + timedelta(weeks=steps)
    months = start.year * 12 + start.month - 1 + steps
    return start.replace(year=months // 12, month=months % 12 + 1)


def _stamp(wall: datetime, tz: ZoneInfo) -> float:
    return wall.replace(tzinfo=tz).astimezone(UTC).timestamp()
