"""Whether Prometheus answered at all: a Source wrapper that the tick and the CLI share.

Per-SLO errors say what went wrong with each query; this says, once, that nothing could be
asked. ``sloguard_prometheus_up`` comes from it, and ``sloguard evaluate`` leads with it
instead of a table of NO_DATA rows that each repeat the same connection error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence, Set
from typing import TypeVar

from sloguard.errors import SloguardError, SourceUnavailable
from sloguard.ports import BySlothId, Sample, Series, Source, read_by_sloth_id, read_label_values

T = TypeVar("T")


class Reachability:
    """A Source that remembers whether Prometheus answered since :meth:`begin`.

    ``up`` is False only when queries were made and every one failed as unreachable
    (SourceUnavailable: transport error, timeout, 5xx); a rejected query is Prometheus
    answering. ``failure`` is the first such error, for a message that names the reason."""

    def __init__(self, inner: Source) -> None:
        self._inner = inner
        self._answered = 0
        self._unreachable = 0
        self.failure: SourceUnavailable | None = None

    def begin(self) -> None:
        """Start counting afresh (one tick, one command)."""
        self._answered = self._unreachable = 0
        self.failure = None

    @property
    def up(self) -> bool:
        return self._answered > 0 or self._unreachable == 0

    async def query(self, expr: str, at: float) -> list[Sample]:
        return await self._counted(self._inner.query(expr, at))

    async def query_by_sloth_id(
        self, expr: str, at: float, sids: Mapping[str, str], grouped: Set[str]
    ) -> BySlothId:
        """The inner source's answer by ``sloth_id`` (:func:`~sloguard.ports.read_by_sloth_id`),
        counted."""
        return await self._counted(read_by_sloth_id(self._inner, expr, at, sids, grouped))

    async def query_label_values(
        self, expr: str, at: float, names: Sequence[str]
    ) -> set[tuple[str, ...]]:
        """The values of the inner source's labels ``names``
        (:func:`~sloguard.ports.read_label_values`), counted."""
        return await self._counted(read_label_values(self._inner, expr, at, names))

    async def _counted(self, answer: Awaitable[T]) -> T:
        try:
            result = await answer
        except SourceUnavailable as exc:
            self._unreachable += 1
            if self.failure is None:
                self.failure = exc
            raise
        except SloguardError:
            self._answered += 1
            raise
        self._answered += 1
        return result

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        return await self._inner.query_range(expr, start, end, step)


def unreachable_reason(failure: SourceUnavailable, display_url: str) -> str:
    """The reason of a client error without the URL and the query it names (both repeat
    what the caller says around it): ``cannot connect: ConnectError: ...``."""
    text = str(failure).removeprefix(f"Prometheus {display_url}: ")
    return text.split(" (query: ", 1)[0]


__all__ = ["Reachability", "unreachable_reason"]
