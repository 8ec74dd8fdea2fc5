"""ScaledClock: replayed time runs ``speed`` times faster from a past instant."""

from __future__ import annotations

import asyncio

import pytest

from sloguard.clock import ScaledClock

START = 1710385200.0  # 2024-03-14T03:00:00Z


class FakeMonotonic:
    """A real monotonic clock that moves only when told, and records the real sleeps."""

    def __init__(self, at: float = 1000.0) -> None:
        self.at = at
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.at

    async def wait(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds


@pytest.mark.parametrize(
    ("speed", "real_elapsed", "replayed"),
    [
        pytest.param(1.0, 0.0, 0.0, id="at-start-the-replay-is-at-its-start"),
        pytest.param(1.0, 12.5, 12.5, id="speed-1-is-real-time-from-a-past-instant"),
        pytest.param(30.0, 2.0, 60.0, id="30x-two-real-seconds-are-a-replayed-minute"),
        pytest.param(120.0, 0.25, 30.0, id="120x-a-30s-tick-every-quarter-second"),
        pytest.param(0.5, 10.0, 5.0, id="slow-motion-below-1x"),
    ],
)
def test_now_and_monotonic_run_speed_times_faster(
    speed: float, real_elapsed: float, replayed: float
) -> None:
    real = FakeMonotonic()
    clock = ScaledClock(START, speed, real=real)
    real.at += real_elapsed
    assert clock.now() == pytest.approx(START + replayed)
    assert clock.monotonic() == pytest.approx(replayed)
    assert clock.elapsed() == pytest.approx(replayed)


def test_origin_maps_an_earlier_real_instant_to_start() -> None:
    real = FakeMonotonic(at=500.0)
    clock = ScaledClock(START, 10.0, origin=498.0, real=real)  # made 2 real seconds late
    assert clock.now() == pytest.approx(START + 20.0)


@pytest.mark.parametrize(
    ("speed", "asked", "real_wait"),
    [
        pytest.param(30.0, 30.0, 1.0, id="a-30s-interval-at-30x-is-one-real-second"),
        pytest.param(120.0, 5.0, 5.0 / 120.0, id="retry-backoff-shrinks-too"),
        pytest.param(30.0, -3.0, 0.0, id="negative-waits-are-no-wait"),
    ],
)
def test_sleep_waits_the_real_share(speed: float, asked: float, real_wait: float) -> None:
    real = FakeMonotonic()
    clock = ScaledClock(START, speed, real=real, wait=real.wait)
    before = clock.now()
    asyncio.run(clock.sleep(asked))
    assert real.slept == [pytest.approx(real_wait)]
    assert clock.now() - before == pytest.approx(max(asked, 0.0))


@pytest.mark.parametrize(
    ("start", "speed"),
    [
        pytest.param(START, 0.0, id="zero-speed"),
        pytest.param(START, -2.0, id="negative-speed"),
        pytest.param(START, float("inf"), id="infinite-speed"),
        pytest.param(START, float("nan"), id="nan-speed"),
        pytest.param(float("nan"), 2.0, id="nan-start"),
    ],
)
def test_nonsense_is_refused(start: float, speed: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        ScaledClock(start, speed)


def test_the_real_clock_by_default_moves_forward() -> None:
    clock = ScaledClock(START, 1000.0)
    first = clock.now()
    assert first >= START
    assert clock.now() >= first
