"""Command options that take a duration or ``0``/``off``, as click callbacks, in one place.

``evaluate --direct-windows-max`` and ``generate --fast-interval``/``--slow-interval`` read the
same thing: a duration in whole seconds (``sloguard.durations``), or 0 when the feature is off;
each says in its own words what 0 means and, where there is one, why it has a maximum.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from sloguard.durations import DurationError, parse_duration

Callback = Callable[[click.Context | None, click.Parameter | None, str], int]

_OFF = ("0", "0s", "off")


def duration_or_off(*, off: str, most_seconds: int | None = None, why: str = "") -> Callback:
    """A click callback giving the option's seconds: 0 for ``0``, ``0s`` or ``off``; a
    duration up to ``most_seconds`` otherwise. A bad value is a usage error that ends with
    what 0 means (``off``: "(off)", "to read every recorded window"); too long a one says
    ``why`` that is the limit."""

    def callback(ctx: click.Context | None, param: click.Parameter | None, value: str) -> int:
        text = value.strip()
        if text.lower() in _OFF:
            return 0
        try:
            seconds = parse_duration(text)
        except DurationError as exc:
            raise click.BadParameter(f"{exc}; or 0 {off}", ctx, param) from None
        if most_seconds is not None and seconds > most_seconds:
            raise click.BadParameter(
                f"{value!r} is longer than {why}: use 1s to {most_seconds}s, or 0 {off}",
                ctx,
                param,
            )
        return seconds

    return callback


__all__ = ["duration_or_off"]
