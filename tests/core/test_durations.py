"""Time as text, from its one home: durations for people, ISO 8601, typed instants, Retry-After."""

from __future__ import annotations

import pytest

from sloguard.durations import human_duration, iso_time, parse_retry_after, parse_time


@pytest.mark.parametrize(
    ("seconds", "units", "text"),
    [
        pytest.param(7380, 2, "2h3m", id="two-units"),
        pytest.param(3725, 2, "1h2m", id="cut-to-two"),
        pytest.param(3725, 4, "1h2m5s", id="exact"),
        pytest.param(29.6, 2, "30s", id="rounded"),
        pytest.param(0.4, 2, "0s", id="under-a-second"),
        pytest.param(-5, 2, "0s", id="negative"),
        pytest.param(30 * 86400, 4, "30d", id="period"),
    ],
)
def test_human_duration(seconds: float, units: int, text: str) -> None:
    assert human_duration(seconds, units=units) == text


@pytest.mark.parametrize(
    ("at", "text"),
    [
        pytest.param(1704067252, "2024-01-01T00:00:52Z", id="whole"),
        pytest.param(1704067252.9, "2024-01-01T00:00:52Z", id="to-the-second"),
    ],
)
def test_iso_time(at: float, text: str) -> None:
    assert iso_time(at) == text


@pytest.mark.parametrize(
    ("text", "at"),
    [
        pytest.param("1704067200", 1704067200.0, id="unix"),
        pytest.param("1704067200.5", 1704067200.5, id="unix-fraction"),
        pytest.param("2024-01-01T06:00:00Z", 1704088800.0, id="rfc3339-z"),
        pytest.param("2024-01-01T08:00:00+02:00", 1704088800.0, id="rfc3339-offset"),
        pytest.param("2024-01-01t06:00:00z", 1704088800.0, id="rfc3339-lowercase"),
    ],
)
def test_parse_time(text: str, at: float) -> None:
    assert parse_time(text) == at


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("yesterday", "neither unix seconds nor RFC 3339", id="words"),
        pytest.param("2024-01-01T06:00:00", "has no timezone", id="naive"),
        pytest.param("1704067200000", "milliseconds are not taken", id="milliseconds"),
        pytest.param("nan", "is not unix seconds", id="nan"),
    ],
)
def test_parse_time_says_what_is_valid(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("value", "date", "seconds"),
    [
        pytest.param(None, None, None, id="absent"),
        pytest.param("120", None, 120.0, id="delay-seconds"),
        pytest.param("-3", None, 0.0, id="negative-is-now"),
        pytest.param("NaN", None, None, id="nan"),
        pytest.param("soon", None, None, id="unreadable"),
        pytest.param("Wed, 21 Oct 2015 07:28:10 GMT", None, 10.0, id="date-against-now"),
        pytest.param(
            "Wed, 21 Oct 2015 07:28:10 GMT",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            10.0,
            id="date-against-the-response-date",
        ),
    ],
)
def test_parse_retry_after(value: str | None, date: str | None, seconds: float | None) -> None:
    now = 1445412480.0 if date is None else 0.0  # a skewed clock is ignored when Date is sent
    assert parse_retry_after(value, now=now, date_header=date) == seconds
