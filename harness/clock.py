"""A virtual clock for asyncio tests of timing: ``sleep`` waits for virtual time, not real time.

:class:`sloguard.clock.ManualClock` returns from ``sleep`` at once (it jumps the clock), which
suits code with one sleeper. A daemon has several (ticker, delivery, watcher, a slow tick), and
their order matters, so here every ``sleep`` parks until the test calls :meth:`advance`, which
wakes the sleepers in deadline order and lets the event loop settle after each one::

    clock = VirtualClock()
    task = asyncio.create_task(daemon.run())
    await clock.advance(95)      # 95 virtual seconds: ticks at 0, 30, 60 and 90
"""

from __future__ import annotations

import asyncio
import heapq
import itertools


class VirtualClock:
    def __init__(self, start: float = 1_700_000_000.0, *, settle_rounds: int = 100) -> None:
        self._wall0 = start
        self._mono = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._settle_rounds = settle_rounds

    def now(self) -> float:
        return self._wall0 + self._mono

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._seq), future))
        await future  # a cancelled sleeper stays in the heap; advance() skips it

    async def settle(self) -> None:
        """Let every task that can run do so (no real I/O involved)."""
        for _ in range(self._settle_rounds):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``, waking sleepers as their deadlines pass."""
        target = self._mono + seconds
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self._mono = max(self._mono, deadline)
            future.set_result(None)
            await self.settle()
        self._mono = target
        await self.settle()

    @property
    def sleepers(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())
