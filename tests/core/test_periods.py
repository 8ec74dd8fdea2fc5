"""Table tests of calendar periods: where the period of an instant starts and ends, in its
time zone (month ends, leap years, DST changes, ISO weeks from Monday, custom anchors)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sloguard.periods import (
    Calendar,
    CalendarUnit,
    elapsed_seconds,
    period_bounds,
    period_length_seconds,
    period_name,
    period_slices,
)

NY = "America/New_York"
BERLIN = "Europe/Berlin"


def at(text: str, tz: str = "UTC") -> float:
    """Unix seconds of the wall time ``text`` in ``tz``."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def cal(unit: str, tz: str = "UTC", start: str = "") -> Calendar:
    anchor = datetime.fromisoformat(start) if start else None
    return Calendar(CalendarUnit(unit), tz, *([anchor] if anchor else []))


# (unit, time zone, anchor, instant, period start, period end): wall times in the calendar's
# zone, or UTC where they end in Z.
BOUNDS = [
    ("month", "UTC", "", "2024-01-31 23:59:59", "2024-01-01", "2024-02-01", "month-last-second"),
    ("month", "UTC", "", "2024-02-01 00:00:00", "2024-02-01", "2024-03-01", "month-first-second"),
    ("month", "UTC", "", "2024-02-29 12:00", "2024-02-01", "2024-03-01", "leap-february"),
    ("month", "UTC", "", "2024-12-31 23:00", "2024-12-01", "2025-01-01", "december-to-january"),
    ("month", NY, "", "2024-03-01 00:30", "2024-03-01", "2024-04-01", "month-in-new-york"),
    ("month", NY, "", "2024-03-01 03:00Z", "2024-02-01", "2024-03-01", "utc-march-ny-february"),
    ("month", "UTC", "2022-01-15 06:00", "2024-05-15 05:59", "2024-04-15 06:00",
     "2024-05-15 06:00", "month-from-the-15th-before"),
    ("month", "UTC", "2022-01-15 06:00", "2024-05-15 06:00", "2024-05-15 06:00",
     "2024-06-15 06:00", "month-from-the-15th-at"),
    ("week", "UTC", "", "2024-03-10 23:59", "2024-03-04", "2024-03-11", "iso-week-sunday-night"),
    ("week", "UTC", "", "2024-03-11 00:00", "2024-03-11", "2024-03-18", "iso-week-monday"),
    ("week", "UTC", "", "2025-01-01 10:00", "2024-12-30", "2025-01-06", "iso-week-new-year"),
    ("week", NY, "2022-01-05 12:00", "2024-03-13 11:00", "2024-03-06 12:00", "2024-03-13 12:00",
     "week-from-wednesday-noon"),
    ("day", NY, "", "2024-03-10 12:00", "2024-03-10", "2024-03-11", "day-spring-forward"),
    ("day", NY, "", "2024-11-03 23:30", "2024-11-03", "2024-11-04", "day-fall-back"),
    ("day", BERLIN, "2024-01-01 02:30", "2024-03-31 12:00", "2024-03-31 03:30",
     "2024-04-01 02:30", "anchor-in-skipped-hour"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("unit", "tz", "anchor", "instant", "start", "end"),
    [pytest.param(*row[:6], id=row[6]) for row in BOUNDS],
)
def test_period_bounds(unit: str, tz: str, anchor: str, instant: str, start: str, end: str) -> None:
    t = at(instant[:-1]) if instant.endswith("Z") else at(instant, tz)
    assert period_bounds(cal(unit, tz, anchor), t) == (at(start, tz), at(end, tz))


@pytest.mark.parametrize(
    ("calendar", "instant", "hours"),
    [
        pytest.param(cal("day", NY), at("2024-03-10 12:00", NY), 23, id="spring-forward-23h"),
        pytest.param(cal("day", NY), at("2024-11-03 12:00", NY), 25, id="fall-back-25h"),
        pytest.param(cal("day", NY), at("2024-11-04 12:00", NY), 24, id="ordinary-day"),
        pytest.param(cal("week", BERLIN), at("2024-03-27", BERLIN), 7 * 24 - 1, id="week-with-dst"),
        pytest.param(cal("month"), at("2023-02-10"), 28 * 24, id="february"),
        pytest.param(cal("month"), at("2024-02-10"), 29 * 24, id="leap-february"),
        pytest.param(cal("month", NY), at("2024-03-10", NY), 31 * 24 - 1, id="march-new-york"),
        pytest.param(cal("month"), at("2024-04-10"), 30 * 24, id="april"),
    ],
)
def test_period_length_follows_the_wall_clock(
    calendar: Calendar, instant: float, hours: int
) -> None:
    assert period_length_seconds(calendar, instant) == hours * 3600


@pytest.mark.parametrize(
    ("instant", "seconds"),
    [
        pytest.param(at("2024-03-01 00:00:00"), 1, id="at-the-start-at-least-one"),
        pytest.param(at("2024-03-01 00:00:00.5"), 1, id="half-a-second-in"),
        pytest.param(at("2024-03-02 01:00:30"), 86400 + 3630, id="a-day-and-a-bit"),
    ],
)
def test_elapsed_seconds_are_whole_and_positive(instant: float, seconds: int) -> None:
    assert elapsed_seconds(cal("month"), instant) == seconds


@pytest.mark.parametrize(
    ("unit", "tz", "start", "needle"),
    [
        pytest.param("month", "UTC", "2024-01-31", "cannot start on day 31", id="month-day-31"),
        pytest.param("month", "Mars/Olympus", "", "not an IANA time zone", id="unknown-zone"),
    ],
)
def test_calendar_refuses_what_has_no_meaning(unit: str, tz: str, start: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        cal(unit, tz, start)


def test_every_instant_of_a_year_lies_in_its_period() -> None:
    """Hourly through 2024 in New York: each period starts where the previous one ended."""
    calendar = cal("week", NY)
    t, stop = (
        datetime(2024, 1, 1, tzinfo=UTC).timestamp(),
        datetime(2025, 1, 1, tzinfo=UTC).timestamp(),
    )
    previous: tuple[float, float] | None = None
    while t < stop:
        start, end = period_bounds(calendar, t)
        assert start <= t < end
        if previous is not None and previous != (start, end):
            assert start == previous[1]
        previous = (start, end)
        t += 3600


SLICES = [
    pytest.param(
        cal("month"),
        at("2024-06-10"),
        at("2024-08-05"),
        [("2024-06-10", "2024-07-01"), ("2024-07-01", "2024-08-01"), ("2024-08-01", "2024-08-05")],
        ["June 2024", "July 2024", "August 2024"],
        id="month-parts",
    ),
    pytest.param(
        cal("month"),
        at("2024-03-01"),
        at("2024-04-01"),
        [("2024-03-01", "2024-04-01")],
        ["March 2024"],
        id="one-whole-month",
    ),
    pytest.param(
        cal("week", BERLIN),
        at("2024-03-06", BERLIN),
        at("2024-03-12", BERLIN),
        [("2024-03-06", "2024-03-11"), ("2024-03-11", "2024-03-12")],
        ["week of 4 Mar 2024", "week of 11 Mar 2024"],
        id="iso-weeks-in-berlin",
    ),
    pytest.param(
        cal("day", "UTC", "2024-01-01 06:00"),
        at("2024-03-01 05:00"),
        at("2024-03-01 07:00"),
        [("2024-03-01 05:00", "2024-03-01 06:00"), ("2024-03-01 06:00", "2024-03-01 07:00")],
        ["day from 29 Feb 2024 06:00", "day from 1 Mar 2024 06:00"],
        id="day-anchored-at-six",
    ),
    pytest.param(
        cal("month", "UTC", "2024-01-15"),
        at("2024-03-20"),
        at("2024-03-21"),
        [("2024-03-20", "2024-03-21")],
        ["month from 15 Mar 2024"],
        id="month-from-the-15th",
    ),
]


@pytest.mark.parametrize(("calendar", "start", "end", "parts", "names"), SLICES)
def test_period_slices_and_names(
    calendar: Calendar, start: float, end: float, parts: list[tuple[str, str]], names: list[str]
) -> None:
    tz = calendar.time_zone
    expected = [(at(a, tz), at(b, tz)) for a, b in parts]
    got = period_slices(calendar, start, end)
    assert got == expected
    assert [period_name(calendar, a) for a, _ in got] == names
