"""Cycle collection paused while ticks run: one object per process, shared by its ticks.

A tick of 10,000 SLOs allocates millions of small objects, many of them alive until it ends
(answers, evaluations, states) and nearly none in a reference cycle: reference counting frees
them. Left on, the collector ran about 1,450 collections during one such tick (7 of them full,
walking everything alive). ``python -m bench.profile_tick --slos 10000 --http``: 1.36 s of CPU
per tick with the collector paused, 2.60 s without (December 2026), so it stays paused.

The collector is one per process, so the pause is too: the composition root makes one and
hands it to every tick it builds; a reload's old and new tick may overlap, and only the last
tick to end turns collection back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class CollectorPause:
    """Counts the ticks under way; no automatic collection while any runs."""

    def __init__(self) -> None:
        self._depth = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No automatic cycle collection inside; one young collection when the last ends (it
        frees any cycle the ticks made, and its cost counts in the tick)."""
        if self._depth == 0 and not gc.isenabled():
            yield  # turned off by whoever runs us: leave it so
            return
        self._depth += 1
        gc.disable()
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                gc.enable()
                gc.collect(0)


__all__ = ["CollectorPause"]
