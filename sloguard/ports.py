"""The seams between services and edges: small Protocols, so tests plug in fakes or local servers.

Other ports (Notifier, Store) live beside the code that owns their data types and are
re-exported here as they land.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of an instant vector: its labels and value at the query instant."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a range query: (unix seconds, value) points in time order."""

    labels: Mapping[str, str]
    points: Sequence[tuple[float, float]]


class Source(Protocol):
    """Where error ratios come from (Prometheus, or a fake in unit tests)."""

    async def query(self, expr: str, at: float) -> list[Sample]:
        """Instant query at unix time ``at``. Raises :class:`sloguard.errors.SourceError`."""
        ...

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Range query. Raises :class:`sloguard.errors.SourceError`."""
        ...


class Clock(Protocol):
    """Injected time, so nothing in sloguard reads the wall clock directly."""

    def now(self) -> float:
        """Wall-clock unix seconds (what Prometheus and receivers see)."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring intervals; never jumps."""
        ...

    async def sleep(self, seconds: float) -> None: ...
