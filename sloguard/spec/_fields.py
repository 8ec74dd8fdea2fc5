"""The checks every part of the native SLO schema shares: the strict base model, names,
label names, whole-day windows and URLs, each with a message that says what to write instead."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from sloguard.durations import DurationError, parse_duration

# Sloth's name rule, so every Sloth and OpenSLO name imports unchanged (DNS-label style plus _ .).
NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class StrictModel(BaseModel):
    """Every schema part: unknown fields are errors, types are not coerced, values are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def shown(value: str) -> str:
    """``value`` quoted for an error message, cut when it is long."""
    return repr(value) if len(value) <= 80 else f"{value[:60]!r}... ({len(value)} characters)"


def check_name(value: str, what: str = "name") -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"{what} {shown(value)} is not valid: use letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit (e.g. checkout-availability)"
        )
    return value


def check_labels(value: dict[str, str], what: str = "label") -> dict[str, str]:
    for key in value:
        if not LABEL_RE.match(key) or key.startswith("__"):
            raise ValueError(
                f"{what} name {key!r} is not a Prometheus label name: use letters, digits and "
                "'_', not starting with a digit or '__' (e.g. team, routing_key)"
            )
    return value


def check_window_days(value: str) -> str:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise ValueError(f"{exc}; the SLO window is whole days, e.g. 7d, 28d, 30d") from None
    if seconds % 86400:
        raise ValueError(f"window {value!r} is not a whole number of days; use e.g. 7d, 28d, 30d")
    return value


def check_url(value: str) -> str:
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://runbooks.example.com/x")
    return value
