"""One query per SLO: the direct queries of an SLO asked as one PromQL union, its answer split
back into the answer of each query, so decoding never sees the difference.

Each query is tagged ``label_replace(Q, "sloguard_query", "<i>", "", "")`` (the empty regex
matches every series, so every series of ``Q`` gets the tag ``i``) and the tagged queries are
joined with ``or``. The tags differ, so no series of one query can shadow another's: the union
holds every series of every query, with its labels and value unchanged. The tag is then removed.

A rejected union (``QueryError``: a query that yields a scalar, or one Prometheus refuses), or
an answer whose series lack the tags (something in front of Prometheus that does not evaluate
PromQL), is asked again one query at a time, so such an SLO gets exactly the answers, and the
messages, it got before. An unavailable Prometheus is not asked again: every query gets that
failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sloguard.engine._ask import Answer, ask
from sloguard.errors import QueryError, SloguardError
from sloguard.model import QUERY_TAG_LABEL
from sloguard.ports import Sample, Source


@dataclass(frozen=True, slots=True)
class Combined:
    """One query sent to Prometheus: ``text``, which answers each of ``parts`` at once."""

    text: str
    parts: tuple[str, ...]


def combined(parts: Sequence[str]) -> Combined:
    """The union of ``parts`` (distinct, in order); a single query is asked as it is."""
    distinct = tuple(dict.fromkeys(parts))
    if len(distinct) == 1:
        return Combined(distinct[0], distinct)
    text = "\nor\n".join(
        f'label_replace(\n{q}\n, "{QUERY_TAG_LABEL}", "{i}", "", "")'
        for i, q in enumerate(distinct)
    )
    return Combined(text, distinct)


def split(c: Combined, samples: list[Sample]) -> dict[str, list[Sample]]:
    """The series of each part of ``c``, without the tag; raises on a series without one."""
    out: dict[str, list[Sample]] = {q: [] for q in c.parts}
    for s in samples:
        tag = s.labels.get(QUERY_TAG_LABEL, "")
        if not tag.isdigit() or int(tag) >= len(c.parts):
            raise QueryError(
                f"a series of the combined query has no valid {QUERY_TAG_LABEL} tag: {tag!r}",
                query=c.text,
            )
        labels = {k: v for k, v in s.labels.items() if k != QUERY_TAG_LABEL}
        out[c.parts[int(tag)]].append(Sample(labels, s.value))
    return out


async def ask_combined(
    source: Source, c: Combined, at: float, semaphore: asyncio.Semaphore
) -> dict[str, Answer]:
    """The answer of each part of ``c`` at ``at``, from one query when Prometheus takes it;
    never raises."""
    if len(c.parts) == 1:
        return {c.text: await ask(source, c.text, at, semaphore)}
    got = await ask(source, c.text, at, semaphore)
    if isinstance(got, SloguardError) and not isinstance(got, QueryError):
        return dict.fromkeys(c.parts, got)
    if not isinstance(got, QueryError):
        try:
            return dict(split(c, got))
        except QueryError:
            pass  # an answer without the tags: not Prometheus's union; ask as before
    one_by_one = await asyncio.gather(*(ask(source, q, at, semaphore) for q in c.parts))
    return dict(zip(c.parts, one_by_one, strict=True))
