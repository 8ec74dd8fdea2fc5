"""Clocks: the real one for production, a manual one for tests and ``--at`` replays, and a
scaled one that replays a past stretch of time faster than real time (``run --replay-from``)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable


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
    """Replay time: a past instant that runs ``speed`` times faster than the real clock.

    ``now()`` is ``start + elapsed * speed``, where ``elapsed`` is the real time since the clock
    was made, measured on the monotonic clock (an NTP step does not jump a replay);
    ``monotonic()`` is scaled the same way and ``sleep(s)`` waits ``s / speed`` real seconds.
    Everything that takes a :class:`~sloguard.ports.Clock` (ticks, quiet periods, retry
    backoff, outbox expiry) then runs in replayed time, consistently.

    ``origin`` is the real monotonic instant that maps to ``start`` (default: now); ``real``
    (the monotonic clock to read) and ``wait`` (the real sleep) are injected by tests.
    """

    def __init__(
        self,
        start: float,
        speed: float,
        *,
        origin: float | None = None,
        real: Callable[[], float] = time.monotonic,
        wait: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        if not math.isfinite(start):
            raise ValueError(f"start must be a finite unix time, not {start!r}")
        self.start = start
        self.speed = speed
        self._real = real
        self._wait = wait
        self._origin = real() if origin is None else origin

    def elapsed(self) -> float:
        """Replayed seconds since ``start``."""
        return (self._real() - self._origin) * self.speed

    def now(self) -> float:
        return self.start + self.elapsed()

    def monotonic(self) -> float:
        return self.elapsed()

    async def sleep(self, seconds: float) -> None:
        await self._wait(max(seconds, 0.0) / self.speed)
