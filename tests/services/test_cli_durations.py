"""The one reader of "a duration, or 0/off" options (evaluate --direct-windows-max, generate
--fast-interval/--slow-interval): what it accepts, and what a bad value is told."""

from __future__ import annotations

import click
import pytest

from sloguard.cli._durations import duration_or_off

CAPPED = duration_or_off(off="(off)", most_seconds=300, why="the 5m window")
OPEN = duration_or_off(off="to read every recorded window")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param("0", 0, id="zero"),
        pytest.param("0s", 0, id="zero-seconds"),
        pytest.param(" OFF ", 0, id="off-any-case"),
        pytest.param("15s", 15, id="seconds"),
        pytest.param("5m", 300, id="the-cap-itself"),
    ],
)
def test_accepted(text: str, want: int) -> None:
    assert CAPPED(None, None, text) == want


@pytest.mark.parametrize(
    ("callback", "text", "message"),
    [
        pytest.param(CAPPED, "15x", "'15x' is not a duration", id="not-a-duration"),
        pytest.param(CAPPED, "15x", "; or 0 (off)", id="says-what-0-is"),
        pytest.param(
            CAPPED, "10m", "'10m' is longer than the 5m window: use 1s to 300s, or 0 (off)",
            id="over-the-cap",
        ),
        pytest.param(OPEN, "1 hour", "or 0 to read every recorded window", id="its-own-words"),
    ],
)  # fmt: skip
def test_refused(callback: object, text: str, message: str) -> None:
    with pytest.raises(click.BadParameter, match=message.replace("(", r"\(").replace(")", r"\)")):
        callback(None, None, text)  # type: ignore[operator]


def test_no_cap_takes_any_duration() -> None:
    assert OPEN(None, None, "30d") == 30 * 86400
