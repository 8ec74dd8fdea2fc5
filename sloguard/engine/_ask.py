"""Asking Prometheus: every query at the same ``time=``, concurrently but bounded, and a failure
kept as the answer of its query (so only the SLOs that depend on it fail)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from sloguard.errors import SloguardError
from sloguard.ports import Sample, Source

DEFAULT_CONCURRENCY = 16

T = TypeVar("T")

# A query's answer: its series, why it failed, or (recorded series of an ungrouped SLO, which
# only ever reads the value of its one series) that one series' value.
Answer = list[Sample] | SloguardError | float
Answers = Mapping[str, Answer]
# The answer of each recorded series by name: its series (or value) per sloth_id, or an error.
RecordedAnswers = Mapping[str, "Mapping[str, list[Sample] | float] | SloguardError"]


async def bounded(
    call: Callable[[], Awaitable[T]], semaphore: asyncio.Semaphore
) -> T | SloguardError:
    """``await call()`` under ``semaphore``, or why it failed; never raises (the per-SLO
    boundary of every question asked of a source)."""
    async with semaphore:
        try:
            return await call()
        except SloguardError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - the per-SLO boundary: never stop the rest
            return SloguardError(f"unexpected {type(exc).__name__}: {exc}")


async def ask(
    source: Source, expr: str, at: float, semaphore: asyncio.Semaphore
) -> list[Sample] | SloguardError:
    """One query's series at ``at``, or why it failed; never raises."""
    return await bounded(lambda: source.query(expr, at), semaphore)


async def ask_all(
    queries: Sequence[str], source: Source, at: float, *, concurrency: int = DEFAULT_CONCURRENCY
) -> dict[str, list[Sample] | SloguardError]:
    """The answer of each of ``queries`` at ``at``, at most ``concurrency`` in flight."""
    semaphore = asyncio.Semaphore(concurrency)
    results = await asyncio.gather(*(ask(source, q, at, semaphore) for q in queries))
    return dict(zip(queries, results, strict=True))
