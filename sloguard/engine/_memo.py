"""Memo of a pure function of one SLO, held by an :class:`~sloguard.engine.Engine`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sloguard.model import SLO

T = TypeVar("T")


class PerSlo(Generic[T]):
    """Memo of a pure function of one SLO, by identity.

    SLOs are frozen, and a daemon evaluates the same objects tick after tick, so their query
    plans and rule fingerprints need computing once, not every tick (at 10,000 SLOs that was a
    third of a tick's CPU). The memo holds each SLO it answers for, so an ``id`` is never reused
    while cached; it starts afresh when it outgrows ``limit`` (SLOs reloaded many times).
    """

    def __init__(self, fn: Callable[[SLO], T], limit: int = 100_000) -> None:
        self._fn = fn
        self._limit = limit
        self._memo: dict[int, tuple[SLO, T]] = {}

    def __call__(self, slo: SLO) -> T:
        hit = self._memo.get(id(slo))
        if hit is not None and hit[0] is slo:
            return hit[1]
        if len(self._memo) >= self._limit:
            self._memo.clear()
        value = self._fn(slo)
        self._memo[id(slo)] = (slo, value)
        return value

    def __len__(self) -> int:
        return len(self._memo)
