"""Calendar periods in SLO files: the native ``spec.calendar`` block and OpenSLO's calendar
time windows (``isRolling: false`` with ``calendar: {startTime, timeZone}``) mapped onto it.

Native form (instead of ``window``)::

    calendar:
      unit: month                  # day, week (from Monday, ISO 8601) or month
      time_zone: Europe/Berlin     # IANA name; default UTC
      start: "2024-01-01 06:00"    # optional wall-clock anchor: periods start here + whole units

See :mod:`sloguard.periods` for the arithmetic.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from sloguard.durations import parse_wall_time
from sloguard.periods import DEFAULT_START, Calendar, CalendarUnit, zone
from sloguard.spec._reader import Reader
from sloguard.spec._yaml import Path_

_UNITS = ", ".join(u.value for u in CalendarUnit)
# OpenSLO durations of one calendar period: 1d, 1w, 1M, and the spelled-out Day, Week, Month.
_OPENSLO_UNITS = {"d": "day", "w": "week", "M": "month", "day": "day", "week": "week"}
_OPENSLO_UNITS |= {"month": "month"}
_DURATION = re.compile(r"^(\d*)\s*([A-Za-z]+)$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _wall_text(value: Any) -> Any:
    """YAML reads an unquoted ``2022-01-01 12:00:00`` as a date or datetime: take it as text."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ") if value.tzinfo is None else value
    if isinstance(value, date):
        return value.isoformat()
    return value


class CalendarSpec(BaseModel):
    """The native calendar period: budgets reset at each period start in ``time_zone``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    unit: str
    time_zone: str = "UTC"
    start: str = ""

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if value not in {u.value for u in CalendarUnit}:
            raise ValueError(f"unit {value!r} is not a calendar period; use one of {_UNITS}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("start", mode="before")
    @classmethod
    def _start_text(cls, value: Any) -> Any:
        return _wall_text(value)

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if value:
            parse_wall_time(value)
        return value

    @model_validator(mode="after")
    def _whole(self) -> CalendarSpec:
        self.calendar()  # a monthly start after the 28th
        return self

    def calendar(self) -> Calendar:
        """The model value (raises ValueError with the reason when it cannot be one)."""
        start = parse_wall_time(self.start) if self.start else DEFAULT_START
        return Calendar(CalendarUnit(self.unit), self.time_zone, start)


def openslo_calendar(reader: Reader, path: Path_, window: dict[str, Any]) -> dict[str, Any] | None:
    """The native ``calendar`` block of an OpenSLO calendar time window at ``path``, or None
    after a located error. ``startTime`` may be a date and time (the wall-clock anchor) or,
    for a week, a weekday name (weeks start that day at midnight)."""
    unit = _openslo_unit(reader, (*path, "duration"), window.get("duration"))
    if unit is None:
        return None
    cal = window.get("calendar")
    cal = cal if isinstance(cal, dict) else {}
    out: dict[str, Any] = {"unit": unit, "time_zone": cal.get("timeZone") or "UTC"}
    start = _wall_text(cal.get("startTime"))
    if isinstance(start, str) and start.strip().lower() in _WEEKDAYS and unit == "week":
        day = DEFAULT_START + timedelta(days=_WEEKDAYS.index(start.strip().lower()))
        start = day.isoformat(sep=" ")
    if start is not None:
        out["start"] = start if isinstance(start, str) else str(start)
    try:
        CalendarSpec.model_validate(out)
    except ValueError as exc:
        reader.error((*path, "calendar"), f"calendar: {_reason(exc)}")
        return None
    return out


def _openslo_unit(reader: Reader, path: Path_, duration: Any) -> str | None:
    match = _DURATION.match(str(duration).strip()) if duration is not None else None
    unit = _OPENSLO_UNITS.get(match.group(2) if match and len(match.group(2)) == 1 else "")
    if match and unit is None:
        unit = _OPENSLO_UNITS.get(match.group(2).lower())
    if match is None or unit is None or match.group(1) not in ("", "1"):
        minutes = match is not None and match.group(2) == "m"
        reader.error(
            path,
            f"duration {duration!r}: a sloguard calendar period is one day, week or month "
            "(1d, 1w, 1M)" + ("; m is minutes, a month is M" if minutes else ""),
        )
        return None
    return unit


def _reason(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in errors())
    return str(exc)
