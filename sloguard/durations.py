"""Prometheus durations (``5m``, ``1h30m``, ``30d``) to seconds and back. Pure."""

from __future__ import annotations

import functools
import re

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


class DurationError(ValueError):
    """Not a Prometheus duration; the message says what would be valid."""


@functools.lru_cache(maxsize=1024)  # window names are few; the lifecycle parses them every tick
def parse_duration(text: str) -> int:
    """Parse a Prometheus duration into whole seconds.

    Units must appear from largest to smallest, each at most once, as Prometheus requires.
    Milliseconds are accepted only when they add up to whole seconds.
    """
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
    if total_ms % 1000:
        raise DurationError(f"{text!r} is not a whole number of seconds")
    if total_ms == 0:
        raise DurationError(f"{text!r} is zero; a window must be positive")
    return total_ms // 1000


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
