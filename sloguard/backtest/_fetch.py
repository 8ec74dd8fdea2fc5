"""Range queries for the backtest, cut into chunks and indexed by step.

A chunk holds at most ``max_points_per_query`` points per series (Prometheus refuses more than
11,000), its queries are asked ``concurrency`` at a time, and a failing query becomes its error
for the SLOs that need it, as in the daemon. Period-only queries are asked on the coarser
budget grid (see :func:`sloguard.backtest.budget_step_for`).
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sloguard.backtest._model import Options
from sloguard.errors import SloguardError
from sloguard.ports import Sample, Series, Source


@dataclass(slots=True)
class Answer:
    """One expression over one chunk: per series its labels, values and which steps have one."""

    labels: list[Mapping[str, str]]
    values: list[array[float]]
    present: list[bytearray]


@dataclass(slots=True)
class Chunk:
    first: int  # index of its first step in the range
    size: int
    fine: dict[str, Answer | SloguardError]
    coarse: dict[str, Answer | SloguardError]
    coarse_first: int  # index on the budget grid of the coarse answers' first point


def _index(series: Sequence[Series], start: float, step: float, size: int) -> Answer:
    answer = Answer([], [], [])
    for s in series:
        values = array("d", bytes(8 * size))
        present = bytearray(size)
        for ts, value in s.points:
            i = round((ts - start) / step)
            if 0 <= i < size and abs(start + i * step - ts) < 1e-3:
                values[i] = value
                present[i] = 1
        answer.labels.append(dict(s.labels))
        answer.values.append(values)
        answer.present.append(present)
    return answer


class Fetcher:
    def __init__(self, source: Source, options: Options, budget_step: float) -> None:
        self.source = source
        self.options = options
        self.budget_step = budget_step
        self.semaphore = asyncio.Semaphore(max(1, options.concurrency))
        self.requests = 0

    async def _ask(self, expr: str, start: float, step: float, size: int) -> Answer | SloguardError:
        end = start + (size - 1) * step
        async with self.semaphore:
            self.requests += 1
            try:
                series = await self.source.query_range(expr, start, end, step)
            except SloguardError as exc:
                return exc
            except Exception as exc:  # noqa: BLE001 - per-query boundary, as in the engine
                return SloguardError(f"unexpected {type(exc).__name__}: {exc}")
        return _index(series, start, step, size)

    async def chunk(self, first: int, size: int, fine: list[str], coarse: list[str]) -> Chunk:
        o = self.options
        start = o.at(first)
        ratio = round(self.budget_step / o.step)
        c_first = first // ratio
        c_last = (first + size - 1) // ratio
        c_size = c_last - c_first + 1
        c_start = o.start + c_first * self.budget_step
        tasks = [self._ask(q, start, o.step, size) for q in fine]
        tasks += [self._ask(q, c_start, self.budget_step, c_size) for q in coarse]
        answers = await asyncio.gather(*tasks)
        return Chunk(
            first=first,
            size=size,
            fine=dict(zip(fine, answers[: len(fine)], strict=True)),
            coarse=dict(zip(coarse, answers[len(fine) :], strict=True)),
            coarse_first=c_first,
        )


def samples(answer: Answer | SloguardError, i: int) -> list[Sample] | SloguardError:
    if isinstance(answer, SloguardError):
        return answer
    return [
        Sample(labels, values[i])
        for labels, values, present in zip(
            answer.labels, answer.values, answer.present, strict=True
        )
        if present[i]
    ]
