"""Memos held by an :class:`~sloguard.engine.Engine`: a pure function of one SLO, and the last
evaluation of each SLO."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import replace
from typing import Generic, TypeVar

from sloguard.burn import Evaluation
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


class Verdicts:
    """The last evaluation of each SLO and the answers it was made from (an
    :class:`~sloguard.engine.Engine` holds one).

    Recorded series change once per rule evaluation, so at a 30 s tick and a 1 m rule interval
    every other tick of a fleet reads the very numbers it read before. An SLO whose evaluation
    is a function of its numbers alone (see :func:`sloguard.engine._decode.plain_numbers`) then
    gets its last evaluation again, at the new instant, instead of a new one: at 10,000 SLOs
    that was most of the evaluation's CPU. Entries are kept by plan identity (the plan is
    memoized by the engine, so the same SLO read the same way is the same plan object) and by
    the exact bits of its numbers; anything else is a miss, and a miss only costs the
    evaluation it would have cost anyway.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._limit = limit
        self._memo: dict[int, tuple[object, bytes, Evaluation]] = {}

    def get(self, plan: object, bits: bytes, at: float) -> Evaluation | None:
        """The evaluation of ``plan`` from numbers of the same ``bits`` (:func:`bits_of`) as
        last time, made at ``at``."""
        hit = self._memo.get(id(plan))
        if hit is None or hit[0] is not plan or hit[1] != bits:
            return None
        return replace(hit[2], at=at)

    def put(self, plan: object, bits: bytes, evaluation: Evaluation) -> None:
        if len(self._memo) >= self._limit:
            self._memo.clear()
        self._memo[id(plan)] = (plan, bits, evaluation)


def bits_of(numbers: list[float]) -> bytes:
    """The exact bits of ``numbers``: NaN equals NaN, -0.0 differs from 0.0."""
    return struct.pack(f"{len(numbers)}d", *numbers)
