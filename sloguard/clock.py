"""Clocks: the real one for production, a manual one for tests and ``--at`` replays."""

from __future__ import annotations

import asyncio
import time


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that moves only when told; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._mono = 0.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += max(seconds, 0.0)

    def set(self, now: float) -> None:
        """Jump the wall clock (an NTP step); the monotonic clock does not move."""
        self._now = now

    async def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)


class ScaledClock:
    """Wall time that starts at ``origin`` and runs ``speed`` times as fast as real time.

    ``sloguard run --replay-from T --speed N`` uses it to replay recorded data through the real
    pipeline (state, outbox and notifiers are real): a rehearsal against a staging pager, the
    demo, and end-to-end tests that must not wait hours for a burn to end. Every interval the
    daemon sleeps is in this clock's seconds, so the whole schedule scales together.
    """

    def __init__(self, origin: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.origin = origin
        self.speed = speed
        self._start = time.monotonic()

    def now(self) -> float:
        return self.origin + self.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._start) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.speed)
