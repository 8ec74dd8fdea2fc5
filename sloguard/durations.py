"""Time as text, in one place: Prometheus durations (``5m``, ``1h30m``, ``30d``) to seconds and
back, the duration a person reads on a page or a report, ISO 8601 instants and ``Retry-After``.
Pure: the current time is an argument wherever one is needed.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

UNITS: dict[str, int] = {
    "y": 365 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
    "ms": 0,  # milliseconds are handled separately: sloguard windows are whole seconds
}

_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|y|w|d|h|m|s))+$")
_ORDER = ["y", "w", "d", "h", "m", "s", "ms"]
_UNIT_PART = re.compile(r"\d+[dhms]")  # one unit of format_duration's output


class DurationError(ValueError):
    """Not a Prometheus duration; the message says what would be valid."""


@functools.lru_cache(maxsize=1024)  # window names are few; the lifecycle parses them every tick
def parse_duration(text: str) -> int:
    """Parse a Prometheus duration into whole seconds.

    Units must appear from largest to smallest, each at most once, as Prometheus requires.
    Milliseconds are accepted only when they add up to whole seconds.
    """
    total_ms = parse_duration_ms(text)
    if total_ms % 1000:
        raise DurationError(f"{text!r} is not a whole number of seconds")
    return total_ms // 1000


def parse_duration_ms(text: str) -> int:
    """Parse a positive Prometheus duration into milliseconds (a latency such as ``200ms``)."""
    if not isinstance(text, str) or not _WHOLE.match(text):
        raise DurationError(
            f"{text!r} is not a duration: use a number and a unit, "
            "e.g. 30s, 5m, 1h, 1h30m, 1d, 4w (units y, w, d, h, m, s, ms)"
        )
    total_ms = 0
    last = -1
    for number, unit in _PART.findall(text):
        idx = _ORDER.index(unit)
        if idx <= last:
            raise DurationError(
                f"{text!r} is not a duration: units must go from largest to smallest, "
                "each once (e.g. 1h30m, not 30m1h)"
            )
        last = idx
        total_ms += int(number) * (1 if unit == "ms" else UNITS[unit] * 1000)
    if total_ms == 0:
        raise DurationError(f"{text!r} is zero; a window must be positive")
    return total_ms


def seconds_or_none(text: str) -> int | None:
    """:func:`parse_duration`, or None where the text is not a duration (a stored label that a
    page shows as it is rather than failing on)."""
    try:
        return parse_duration(text)
    except DurationError:
        return None


@functools.lru_cache(maxsize=256)  # a handful of windows, formatted for every SLO every tick
def format_duration(seconds: int) -> str:
    """Canonical Prometheus form, as Sloth writes window labels: 300 -> ``5m``, 86400 -> ``1d``.

    Weeks and years are not used so that ``7d`` and ``30d`` read as SREs write them.
    """
    if seconds <= 0:
        raise DurationError(f"{seconds} is not a positive duration")
    out = []
    for unit in ("d", "h", "m", "s"):
        size = UNITS[unit]
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


def human_duration(seconds: float, *, units: int = 2) -> str:
    """A duration as a person reads it, in the Prometheus spelling windows use on the same page:
    ``7380`` -> ``2h3m``, ``59`` -> ``59s``, ``0`` or less -> ``0s``.

    Rounded to whole seconds and cut to the ``units`` largest units (two are enough at 3 a.m.;
    a report that states exact spans passes 4).
    """
    whole = round(seconds)
    if whole <= 0:
        return "0s"
    text = format_duration(whole)
    return "".join(_UNIT_PART.findall(text)[:units])


def iso_time(at: float) -> str:
    """Unix seconds as ISO 8601 / RFC 3339 in UTC, to the second: ``2024-01-01T06:00:52Z``."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    """An instant a person types: unix seconds (``1704067200``, ``1704067200.5``) or RFC 3339
    with a timezone (``2024-01-01T06:00:00Z``). Raises ValueError saying what would be valid."""
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or value < 0 or value >= 1e11:
            raise ValueError(f"{text!r} is not unix seconds (milliseconds are not taken)")
        return value
    try:
        when = datetime.fromisoformat(text.upper())  # RFC 3339 allows a lowercase t and z
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: neither unix seconds nor RFC 3339 with a timezone "
            "(e.g. 2024-01-01T06:00:00Z or 1704089100)"
        ) from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no timezone: add Z or an offset like +02:00")
    return when.timestamp()


def parse_wall_time(text: str) -> datetime:
    """A wall-clock time without a zone, as calendar periods anchor on it: ``2022-01-01``,
    ``2022-01-01 12:00:00`` or ``2022-01-01T12:00``. Raises ValueError saying what is valid."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date and time: write e.g. 2024-01-01 or 2024-01-01 00:00:00"
        ) from None
    if when.tzinfo is not None:
        raise ValueError(
            f"{text!r} carries a UTC offset: write the wall-clock time and give the zone "
            "as time_zone (e.g. 2024-01-01 00:00:00 and Europe/Berlin)"
        )
    return when


def parse_retry_after(
    value: str | None, *, now: float, date_header: str | None = None
) -> float | None:
    """``Retry-After`` as seconds to wait: delay-seconds or an HTTP-date (RFC 9110 10.2.3).

    An HTTP-date is measured against the response's own ``Date`` header when there is one, so
    a skewed local clock does not stretch or shrink the wait, else against ``now`` (unix
    seconds). None when the header is absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value).timestamp()
            base = parsedate_to_datetime(date_header).timestamp() if date_header else now
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - base
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
