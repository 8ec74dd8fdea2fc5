"""Many SLOs' queries in one: the queries of a fleet that differ only in the value of one
equality matcher, asked once for all of them, the answer split back by that label's value.

A fleet generated per service asks ``sum(rate(m{service="a",code=~"5.."}[5m]))``,
``sum(rate(m{service="b",code=~"5.."}[5m]))``, ... ; :func:`merge` finds such queries (the
same text once the value of a ``label="value"`` matcher found in every selector is blanked),
and asks ``sum by (service) (rate(m{service=~"a|b|...",code=~"5.."}[5m]))`` instead, at most
:data:`MAX_MERGED_VALUES` values (and :data:`MAX_REGEX_CHARS` of regex) per query, so
Prometheus's limits on a query hold. Each merged query is checked with the PromQL parser
(:mod:`sloguard.engine._shape`) to answer for every value exactly what its own query answers;
a shape it refuses keeps today's per-SLO query. The split gives each original query its
series (without the label, unless the original's series carry it), so decoding never sees
the difference; a value without series gets no series, as its own query would.

The queries of one tenant only are ever merged (the key holds the tenant). A merged query
that fails (refused, too big or too slow for Prometheus's limits, a proxy's error), or an
answer that cannot be split, is asked again one query at a time, so every SLO gets exactly
the answer, or the failure, its own query gets.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from sloguard.engine._ask import Answer, ask
from sloguard.engine._promql import grouped_also_by
from sloguard.engine._shape import check
from sloguard.errors import QueryError
from sloguard.ports import Sample, Source

MAX_MERGED_VALUES = 500
MAX_REGEX_CHARS = 16_000
# Answers per union of merged queries: what 500 SLOs with the default tiers ask (16 each).
# Prometheus evaluates one query on one core, so a larger fleet is sent as several.
MAX_UNION_ANSWERS = 16 * MAX_MERGED_VALUES

# A label matcher: name, operator, quoted value. "=~" and "!~" before "=" so each is one op.
_MATCHER = re.compile(
    r"""(?<![\w:])([A-Za-z_]\w*)\s*(=~|!=|!~|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)"""
)
_RE2_META = frozenset("\\.+*?()|[]{}^$")


@dataclass(frozen=True, slots=True)
class Merged:
    """One query that answers many: ``text`` asks every value of ``label`` in ``parts`` (value
    -> the query it answers for); ``keeps_label``: those queries' series carry ``label``."""

    text: str
    label: str
    parts: Mapping[str, str]
    keeps_label: bool


@dataclass(frozen=True, slots=True)
class _Candidate:
    key: tuple[str | None, str, str]  # tenant, label, the query with the label's value blanked
    query: str
    value: str
    spans: tuple[tuple[int, int], ...]  # each matcher on the label, name to closing quote


def quote_meta(value: str) -> str:
    """``value`` as a regex that matches it literally (Go's ``regexp.QuoteMeta``, as RE2
    reads it)."""
    return "".join("\\" + ch if ch in _RE2_META else ch for ch in value)


def merge(queries: Iterable[tuple[str, str | None]]) -> tuple[Merged, ...]:
    """The merged queries that answer for some of ``queries`` (distinct texts, each with its
    SLO's tenant); a query not among their parts is asked as before."""
    candidates = {q: _candidates(q, tenant) for q, tenant in queries}
    counts = Counter(c.key for cs in candidates.values() for c in cs)
    groups: dict[tuple[str | None, str, str], list[_Candidate]] = {}
    for cs in candidates.values():
        if cs:
            best = max(cs, key=lambda c: (counts[c.key], c.key[1]))
            if counts[best.key] > 1:
                groups.setdefault(best.key, []).append(best)
    out: list[Merged] = []
    for (_, label, _), members in groups.items():
        if len(members) < 2:
            continue
        # One shape for the whole group: checked once, on its first two values.
        regex = "|".join(quote_meta(c.value) for c in members[:2])
        first = members[0]
        verdict = check(first.query, _widened(first, label, regex), label, first.value, regex)
        if verdict.refused:
            continue
        for chunk in _chunks(members):
            regex = "|".join(quote_meta(c.value) for c in chunk)
            parts = {c.value: c.query for c in chunk}
            out.append(Merged(_widened(chunk[0], label, regex), label, parts, verdict.keeps_label))
    return tuple(out)


def unions(merged: Sequence[Merged]) -> list[list[str]]:
    """The texts of ``merged`` sent together: those that answer for the same values (the
    windows of the same SLOs) in one union, of at most MAX_UNION_ANSWERS answers."""
    cohorts: dict[tuple[str, ...], list[Merged]] = {}
    for m in merged:
        cohorts.setdefault((m.label, *m.parts), []).append(m)
    out: list[list[str]] = []
    for same in cohorts.values():
        texts: list[str] = []
        answers = 0
        for m in same:
            if texts and answers + len(m.parts) > MAX_UNION_ANSWERS:
                out.append(texts)
                texts, answers = [], 0
            texts.append(m.text)
            answers += len(m.parts)
        out.append(texts)
    return out


class Merges:
    """:func:`merge` remembering its answers (the last 16 inputs): a daemon's ticks ask the
    same queries, in the same order, until its SLOs change, and finding the shapes of 16,000
    queries takes about half a second of CPU. Kept by the :class:`~sloguard.engine.Engine`,
    so it lives as long as the plans it remembers."""

    _KEPT = 16

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[str, str | None], ...], tuple[Merged, ...]] = {}

    def __call__(self, queries: Iterable[tuple[str, str | None]]) -> tuple[Merged, ...]:
        key = tuple(queries)
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= self._KEPT:
                self._known.clear()
            known = self._known[key] = merge(key)
        return known


def _candidates(query: str, tenant: str | None) -> list[_Candidate]:
    """Each label whose every matcher in ``query`` is ``label="<one plain value>"``."""
    found: dict[str, list[tuple[str, str, tuple[int, int]]]] = {}
    for m in _MATCHER.finditer(query):
        found.setdefault(m[1], []).append((m[2], m[3], m.span()))
    out = []
    for label, matchers in found.items():
        values = {text for _, text, _ in matchers}
        if len(values) != 1 or any(op != "=" for op, _, _ in matchers):
            continue
        quoted = values.pop()
        value = quoted[1:-1]
        if not quoted.startswith('"') or not value or "\\" in value:
            continue
        spans = tuple(span for _, _, span in matchers)
        template = _replaced(query, spans, label + "=\0")
        out.append(_Candidate((tenant, label, template), query, value, spans))
    return out


def _replaced(query: str, spans: Sequence[tuple[int, int]], text: str) -> str:
    """``query`` with each span replaced by ``text``."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += [query[last:start], text]
        last = end
    pieces.append(query[last:])
    return "".join(pieces)


def _chunks(members: list[_Candidate]) -> Iterator[list[_Candidate]]:
    """``members`` in runs of at most MAX_MERGED_VALUES values and MAX_REGEX_CHARS of regex;
    a run of one is not merged."""
    chunk: list[_Candidate] = []
    chars = 0
    for c in members:
        size = len(quote_meta(c.value)) + 1
        if chunk and (len(chunk) >= MAX_MERGED_VALUES or chars + size > MAX_REGEX_CHARS):
            if len(chunk) > 1:
                yield chunk
            chunk, chars = [], 0
        chunk.append(c)
        chars += size
    if len(chunk) > 1:
        yield chunk


def widened(query: str, label: str, values: Sequence[str]) -> str | None:
    """The text of ``query`` asked for every one of ``values`` of ``label`` (its one-valued
    equality matcher, widened to a regex; every aggregation also grouped by ``label``), or None
    when ``label`` is no such matcher of ``query``. Not checked (see :func:`merge`)."""
    own = [c for c in _candidates(query, None) if c.key[1] == label]
    return _widened(own[0], label, "|".join(map(quote_meta, values))) if own else None


def _widened(c: _Candidate, label: str, regex: str) -> str:
    literal = '"' + regex.replace("\\", "\\\\") + '"'
    return grouped_also_by(_replaced(c.query, c.spans, f"{label}=~{literal}"), label)


def split(m: Merged, samples: list[Sample]) -> dict[str, list[Sample]]:
    """The series of each part of ``m``; raises QueryError on a series of no part."""
    out: dict[str, list[Sample]] = {q: [] for q in m.parts.values()}
    for s in samples:
        query = m.parts.get(s.labels.get(m.label, ""))
        if query is None:
            raise QueryError(f"a series of the merged query has no {m.label} asked", query=m.text)
        if m.keeps_label:
            out[query].append(s)
        else:
            labels = {k: v for k, v in s.labels.items() if k != m.label}
            out[query].append(Sample(labels, s.value))
    return out


async def answers_of(
    source: Source,
    merged: Sequence[Merged],
    answers: Mapping[str, Answer],
    at: float,
    semaphore: asyncio.Semaphore,
) -> dict[str, Answer]:
    """The answer of each query merged in ``merged`` at ``at``, split from ``answers`` (those of
    the merged texts); never raises."""
    got = await asyncio.gather(*(_parts(source, m, answers[m.text], at, semaphore) for m in merged))
    return {q: answer for parts in got for q, answer in parts.items()}


async def _parts(
    source: Source, m: Merged, got: Answer, at: float, semaphore: asyncio.Semaphore
) -> dict[str, Answer]:
    """The answer of each part of ``m``, split from ``got`` (the merged query's) when it is
    an answer of Prometheus's, else asked one by one."""
    if isinstance(got, list):
        try:
            return dict(split(m, got))
        except QueryError:
            pass  # not an answer of Prometheus's: ask as before
    queries = list(m.parts.values())
    one_by_one = await asyncio.gather(*(ask(source, q, at, semaphore) for q in queries))
    return dict(zip(queries, one_by_one, strict=True))
