"""Evaluate many SLOs at one pinned instant: plan the queries, run them, classify. (Service layer.)

Planning: every SLO needs, for each window of its tiers and for its period, the error ratio
and (unless the indicator is a raw ratio) the total event rate; a latency SLO also needs a check
that its histogram has the exact ``le`` bucket it names. Identical expressions are asked once,
however many SLOs share them. All queries carry the same ``time=``.

Running: the distinct queries run concurrently (bounded); then each SLO's readings are built
(events = total rate x window seconds) and :func:`sloguard.burn.evaluate` decides. Failures stay
per SLO: a query that fails, answers with several series where one was expected, or a missing
histogram bucket turns only the SLOs that depend on it into :func:`sloguard.burn.failed`
evaluations carrying the reason; every other SLO is still evaluated.

Grouped SLOs (``SLO.group_by``) aggregate with ``sum by (labels)`` and give one evaluation per
group, keyed ``name{label="value"}``.
"""

from __future__ import annotations

import asyncio
import functools
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

from sloguard import rules
from sloguard.burn import NO_READING, Evaluation, WindowReading, evaluate, failed
from sloguard.durations import format_duration
from sloguard.errors import QueryError, SloguardError
from sloguard.model import SLO, LatencyIndicator
from sloguard.ports import Sample, Source

DEFAULT_CONCURRENCY = 16
BUCKET_CHECK_RANGE = "1h"  # a missing bucket is reported when others exist within this range

GroupKey = tuple[str, ...]
T = TypeVar("T")


class _PerSlo(Generic[T]):
    """Memo of a pure function of one SLO, by identity.

    SLOs are frozen, and the daemon evaluates the same objects tick after tick, so their query
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


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class SloPlan:
    """The queries one SLO needs, keyed by window seconds (the period included).

    For the windows in ``recorded`` the query is the name of a recorded series, asked once for
    every SLO (:func:`bulk_query`), whose series of this SLO carries ``sloth_id``.
    """

    slo: SLO
    ratio: Mapping[int, str]
    total: Mapping[int, str]
    bucket_check: str | None = None
    recorded: frozenset[int] = frozenset()
    sloth_id: str = ""

    @property
    def queries(self) -> tuple[str, ...]:
        """The direct queries (not the recorded series)."""
        extra = (self.bucket_check,) if self.bucket_check else ()
        rec = self.recorded
        if not rec:
            return (*self.ratio.values(), *self.total.values(), *extra)
        ratio = (q for w, q in self.ratio.items() if w not in rec)
        total = (q for w, q in self.total.items() if w not in rec)
        return (*ratio, *total, *extra)

    @property
    def series(self) -> tuple[str, ...]:
        """The recorded series read for this SLO."""
        rec = self.recorded
        ratio = (q for w, q in self.ratio.items() if w in rec)
        return (*ratio, *(q for w, q in self.total.items() if w in rec))

    def query_text(self, window: int, query: str) -> str:
        """The query as messages show it: a recorded series with this SLO's ``sloth_id``."""
        if window in self.recorded:
            return f'{query}{{sloth_id="{self.sloth_id}"}}'
        return query


@dataclass(frozen=True, slots=True)
class Plan:
    """What one evaluation asks Prometheus: distinct queries in a stable order, and the
    recorded series asked once each for all SLOs."""

    slos: tuple[SloPlan, ...]
    queries: tuple[str, ...] = field(default=())
    recorded: tuple[str, ...] = field(default=())

    @property
    def query_count(self) -> int:
        """Queries sent to Prometheus (a recorded series is asked once for all SLOs)."""
        return len(self.queries) + len(self.recorded)


def plan(slos: Sequence[SLO]) -> Plan:
    """Plan the queries of ``slos``; an expression shared by several SLOs is asked once."""
    planned = tuple(_planned(s) for s in slos)
    distinct = dict.fromkeys(q for p in planned for q in p.queries)
    return Plan(slos=planned, queries=tuple(distinct))


def plan_slo(slo: SLO) -> SloPlan:
    windows = (*slo.window_seconds, slo.period_seconds)
    ratio: dict[int, str] = {}
    total: dict[int, str] = {}
    for w in windows:
        label = format_duration(w)
        ratio[w] = group_expr(slo.error_ratio_query(label), slo.group_by)
        t = slo.total_query(label)
        if t is not None:
            total[w] = group_expr(t, slo.group_by)
    check = None
    if isinstance(slo.indicator, LatencyIndicator):
        check = (
            f"count by (le) (last_over_time({bucket_selector(slo.indicator)}"
            f"[{BUCKET_CHECK_RANGE}]))"
        )
    return SloPlan(slo=slo, ratio=ratio, total=total, bucket_check=check)


_planned = _PerSlo(plan_slo)


def bucket_selector(ind: LatencyIndicator) -> str:
    """All ``_bucket`` series of the indicator's histogram (its ``good_bucket_selector`` minus
    the ``le`` matcher)."""
    le = 'le="' + ind.le + '"'
    good = ind.good_bucket_selector
    return good.replace("," + le + "}", "}").replace("{" + le + "}", "{}")


_SUM = re.compile(r"sum\s*\(")
_TRAILING_GROUPING = re.compile(r"\s*(by|without)\s*\(")


def group_expr(expr: str, by: Sequence[str]) -> str:
    """Make every ungrouped ``sum(...)`` a ``sum by (<by>) (...)``; already grouped sums
    (``sum by``/``sum without``, either position) and string literals are left alone."""
    if not by:
        return expr
    clause = f"sum by ({', '.join(by)}) ("
    out: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            end = _string_end(expr, i)
            out.append(expr[i:end])
            i = end
            continue
        match = _SUM.match(expr, i)
        boundary = i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_:")
        if match and boundary:
            close = _matching_paren(expr, match.end() - 1)
            if not _TRAILING_GROUPING.match(expr, close + 1):
                out.append(clause)
                i = match.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _string_end(expr: str, start: int) -> int:
    quote = expr[start]
    i = start + 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    return len(expr)


def _matching_paren(expr: str, open_at: int) -> int:
    depth = 0
    i = open_at
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            i = _string_end(expr, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(expr) - 1


# --------------------------------------------------------------------------- running


# A query's answer: its series, why it failed, or (recorded series of an ungrouped SLO, which
# only ever reads the value of its one series) that one series' value.
Answer = list[Sample] | SloguardError | float
Answers = Mapping[str, Answer]
# The answer of each recorded series by name: its series (or value) per sloth_id, or an error.
RecordedAnswers = Mapping[str, "Mapping[str, list[Sample] | float] | SloguardError"]


async def run(
    the_plan: Plan, source: Source, at: float, *, concurrency: int = DEFAULT_CONCURRENCY
) -> list[Evaluation]:
    """Ask every distinct query once at ``at``, then evaluate each SLO (input order; groups of a
    grouped SLO sorted by their label values)."""
    direct, names = the_plan.queries, the_plan.recorded
    semaphore = asyncio.Semaphore(concurrency)
    sids = {sp.sloth_id: sp.sloth_id for sp in the_plan.slos if sp.recorded}
    grouped = {sp.sloth_id for sp in the_plan.slos if sp.recorded and sp.slo.group_by}

    async def bulk(name: str) -> _Split | SloguardError:
        # Split as soon as it arrives: one answer of 10,000 series is held at a time, not all.
        got = await _ask(source, bulk_query(name), at, semaphore)
        return got if isinstance(got, SloguardError) else _by_sloth_id(got, sids, grouped)

    answered, split = await asyncio.gather(
        asyncio.gather(*(_ask(source, q, at, semaphore) for q in direct)),
        asyncio.gather(*(bulk(name) for name in names)),
    )
    answers: dict[str, Answer] = dict(zip(direct, answered, strict=True))
    recorded = dict(zip(names, split, strict=True))
    del answered, split
    out: list[Evaluation] = []
    for sp in the_plan.slos:
        out.extend(evaluate_planned(sp, answers, at, recorded=recorded))
    return out


async def _ask(
    source: Source, expr: str, at: float, semaphore: asyncio.Semaphore
) -> list[Sample] | SloguardError:
    async with semaphore:
        try:
            return await source.query(expr, at)
        except SloguardError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - the per-SLO boundary: never stop the rest
            return SloguardError(f"unexpected {type(exc).__name__}: {exc}")


async def ask_all(
    queries: Sequence[str], source: Source, at: float, *, concurrency: int = DEFAULT_CONCURRENCY
) -> dict[str, list[Sample] | SloguardError]:
    semaphore = asyncio.Semaphore(concurrency)
    results = await asyncio.gather(*(_ask(source, q, at, semaphore) for q in queries))
    return dict(zip(queries, results, strict=True))


async def evaluate_all(
    slos: Sequence[SLO],
    source: Source,
    at: float,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    recorded: bool = True,
    direct_windows_max_seconds: float = 0,
) -> list[Evaluation]:
    """Evaluate ``slos`` at unix time ``at``: one evaluation per SLO (per group when grouped).

    With ``recorded`` (the default), SLOs whose ``sloguard generate`` recording rules run in
    Prometheus are read from the recorded series, one query per window for all of them; the
    others are queried directly (see :func:`probe_recorded`). Windows of at most
    ``direct_windows_max_seconds`` are always queried directly, even when recorded: recorded
    series only change once per rule evaluation, which delays a page by up to that interval,
    while the short windows are the ones that decide a fast page (``3600`` reads the SEV1
    tier's 5m and 1h directly). Without ``recorded`` every window is queried directly.
    """
    if direct_windows_max_seconds < 0 or math.isnan(direct_windows_max_seconds):
        raise ValueError(f"direct_windows_max_seconds must be >= 0: {direct_windows_max_seconds}")
    if recorded and any(_longest(s) > direct_windows_max_seconds for s in slos):
        found = await probe_recorded(slos, source, at)
        if found.windows:
            the_plan = _LAST_RECORDED_PLAN.get(slos, found, direct_windows_max_seconds)
            return await run(the_plan, source, at, concurrency=concurrency)
    return await run(plan(slos), source, at, concurrency=concurrency)


async def crossed(
    probes: Sequence[tuple[SLO, Iterable[tuple[int, float]]]],
    source: Source,
    at: float,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> set[str]:
    """The SLOs among ``probes`` whose error ratio over one of the given long windows burns
    over its factor at ``at`` (any group, for a grouped SLO): one direct query per window.

    A cheap trigger for the fast path (sloguard.watch), not a verdict: an SLO found here is
    then evaluated in full, and the lifecycle decides. A failed query crosses nothing; the
    regular tick reports the failure.
    """
    asks: list[tuple[SLO, int, float]] = []
    exprs: list[str] = []
    for slo, windows in probes:
        planned = _planned(slo)
        for window, factor in windows:
            if window not in planned.ratio:
                continue
            asks.append((slo, window, factor))
            exprs.append(planned.ratio[window])
            if slo.min_events > 0 and window in planned.total:
                exprs.append(planned.total[window])  # the verdict would not count a thin window
    answers = await ask_all(list(dict.fromkeys(exprs)), source, at, concurrency=concurrency)
    out: set[str] = set()
    for slo, window, factor in asks:
        planned = _planned(slo)
        try:
            ratios = _by_group(slo, planned.ratio[window], _get(answers[planned.ratio[window]]))
            totals = (
                _by_group(slo, planned.total[window], _get(answers[planned.total[window]]))
                if slo.min_events > 0 and window in planned.total
                else None
            )
        except SloguardError:
            continue
        for group, ratio in ratios.items():
            if totals is not None and totals.get(group, 0.0) * window < slo.min_events:
                continue
            if math.isfinite(ratio) and ratio / slo.budget > factor:
                out.add(slo.name)
                break
    return out


AUTO_DIRECT_MAX_SLOS = 500


def auto_direct_windows(slos: Sequence[SLO]) -> int:
    """The daemon's default ``direct_windows_max_seconds`` in recorded mode.

    The short window of a paging tier (5m for SEV1) decides when an SLO joins the fast path
    (sloguard.watch); read from a recorded series it shows an outage up to one rule interval
    late. Up to ``AUTO_DIRECT_MAX_SLOS`` SLOs it is read directly (2 queries per SLO per tick:
    at most 1,000); beyond that the fleet stays fully recorded, one query per window.
    """
    if len(slos) > AUTO_DIRECT_MAX_SLOS:
        return 0
    shortest = [
        min((t.short_seconds for t in s.tiers if t.severity.pages), default=0) for s in slos
    ]
    return max(shortest, default=0)


def _longest(slo: SLO) -> int:
    return max(slo.period_seconds, *slo.window_seconds)


class _SloFailure(Exception):
    """Why one SLO cannot be evaluated (internal to this module)."""

    def __init__(self, message: str, window: int = 0) -> None:
        super().__init__(message)
        self.window = window


def evaluate_planned(
    sp: SloPlan, answers: Answers, at: float, *, recorded: RecordedAnswers | None = None
) -> list[Evaluation]:
    """The evaluations of one planned SLO from the answers to its direct queries and, for its
    recorded windows, to the recorded series by name (``recorded``); never raises."""
    slo = sp.slo
    rec = recorded if recorded is not None else _NO_RECORDED
    if not slo.group_by and sp.bucket_check is None:
        return [_evaluate_one(sp, answers, rec, at)]
    try:
        if sp.bucket_check is not None:
            _check_bucket(slo, _get(_answer(sp, 0, sp.bucket_check, answers, rec)))
        ratios = {
            w: _by_group(slo, sp.query_text(w, q), _get(_answer(sp, w, q, answers, rec)))
            for w, q in sp.ratio.items()
        }
        totals = {
            w: _by_group(slo, sp.query_text(w, q), _get(_answer(sp, w, q, answers, rec)))
            for w, q in sp.total.items()
        }
    except (_SloFailure, SloguardError) as exc:
        return [failed(slo, at, f"{slo.name}: {exc}")]
    if not slo.group_by:
        groups: list[GroupKey] = [()]
    else:
        groups = sorted({g for m in (*ratios.values(), *totals.values()) for g in m})
        if not groups:
            return [evaluate(slo, {}, None, at)]  # a grouped SLO without any series: NO_DATA
    out = []
    for g in groups:
        try:
            readings = {
                w: _reading(
                    ratios[w].get(g), totals[w].get(g) if w in totals else None, w, w in totals
                )
                for w in sp.ratio
            }
        except _SloFailure as exc:
            key = group_key(slo, g)
            out.append(
                failed(slo, at, f"{key}: {exc} (query: {_query_line(sp, exc.window)})", key=key)
            )
            continue
        period = readings.pop(slo.period_seconds, NO_READING)
        if slo.period_seconds in slo.window_seconds:
            readings[slo.period_seconds] = period
        labels = dict(zip(slo.group_by, g, strict=True))
        out.append(evaluate(slo, readings, period, at, key=group_key(slo, g), labels=labels))
    return out


def _evaluate_one(sp: SloPlan, answers: Answers, rec: RecordedAnswers, at: float) -> Evaluation:
    """:func:`evaluate_planned` of an ungrouped SLO without a bucket check (nearly every SLO):
    the same checks in the same order, one value per query instead of a dict per group."""
    slo = sp.slo
    try:
        ratios = [_single(sp, w, q, _answer(sp, w, q, answers, rec)) for w, q in sp.ratio.items()]
        totals = {
            w: _single(sp, w, q, _answer(sp, w, q, answers, rec)) for w, q in sp.total.items()
        }
    except SloguardError as exc:
        return failed(slo, at, f"{slo.name}: {exc}")
    readings: dict[int, WindowReading] = {}
    isfinite = math.isfinite
    for w, ratio in zip(sp.ratio, ratios, strict=True):
        total = totals.get(w)
        if ratio is not None and total is not None and isfinite(ratio) and isfinite(total):
            readings[w] = WindowReading(ratio, total * w)  # _reading's usual case
            continue
        counts = w in totals
        try:
            readings[w] = _reading(ratio, total, w, counts)
        except _SloFailure as exc:
            return failed(slo, at, f"{slo.name}: {exc} (query: {_query_line(sp, exc.window)})")
    period = readings.pop(slo.period_seconds, NO_READING)
    if slo.period_seconds in slo.window_seconds:
        readings[slo.period_seconds] = period
    return evaluate(slo, readings, period, at, key=slo.name, labels=_NO_LABELS)


_NO_LABELS: Mapping[str, str] = MappingProxyType({})


def _single(sp: SloPlan, window: int, query: str, got: Answer) -> float | None:
    """The one value of an ungrouped SLO's query (None: no series), as :func:`_by_group`."""
    if type(got) is float:  # the usual case first: the compact answer (see _by_sloth_id)
        return got
    if isinstance(got, list):
        if len(got) == 1:
            return got[0].value
        return _by_group(sp.slo, sp.query_text(window, query), got).get(())
    if isinstance(got, SloguardError):
        raise got
    return got


def _answer(
    sp: SloPlan, window: int, query: str, answers: Answers, recorded: RecordedAnswers
) -> Answer:
    """What was answered for one query of ``sp``: its own answer, or this SLO's part of a
    recorded series' answer (no series: an empty list)."""
    if window not in sp.recorded:
        return answers[query]
    by_sid = recorded[query]
    if isinstance(by_sid, SloguardError):
        return by_sid
    return by_sid.get(sp.sloth_id, _NO_SERIES)


_NO_SERIES: list[Sample] = []  # shared by every SLO without a series: read, never written
_NO_RECORDED: RecordedAnswers = MappingProxyType({})


def _query_line(sp: SloPlan, window: int) -> str:
    return _one_line(sp.query_text(window, sp.ratio[window]))


def group_key(slo: SLO, group: GroupKey) -> str:
    if not slo.group_by:
        return slo.name
    inner = ",".join(f'{k}="{v}"' for k, v in zip(slo.group_by, group, strict=True))
    return f"{slo.name}{{{inner}}}"


def _get(got: Answer) -> list[Sample]:
    if isinstance(got, SloguardError):
        raise got
    if not isinstance(got, list):  # the compact answer of an ungrouped SLO (_by_sloth_id)
        return [Sample(_NO_LABELS, got)]
    return got


def _by_group(slo: SLO, expr: str, samples: list[Sample]) -> dict[GroupKey, float]:
    """One value per group (the single value under ``()`` when ungrouped)."""
    if not slo.group_by and len(samples) > 1:
        shown = ", ".join(_labels_text(s.labels) for s in samples[:3])
        more = f" and {len(samples) - 3} more" if len(samples) > 3 else ""
        raise QueryError(
            f"the query returned {len(samples)} series where one was expected ({shown}{more}); "
            "aggregate it with sum(...) or set group_by "
            f"(query: {' '.join(expr.split())})",
            query=expr,
        )
    out: dict[GroupKey, float] = {}
    for s in samples:
        key = tuple(s.labels.get(label, "") for label in slo.group_by)
        if key in out:
            group = _labels_text(dict(zip(slo.group_by, key, strict=True)))
            raise QueryError(
                f"the query returned several series for group {group}; "
                f"its sums must be grouped by exactly ({', '.join(slo.group_by)}) "
                f"(query: {' '.join(expr.split())})",
                query=expr,
            )
        out[key] = s.value
    return out


def _labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _reading(
    ratio: float | None, total_rate: float | None, window: int, counts: bool
) -> WindowReading:
    """Events = total rate x window; unknown for raw indicators or a missing total.

    No ratio series while the total shows traffic means no error was ever counted: 0.0.

    NaN with no traffic is "no data" (0/0). An infinite ratio, NaN while requests flow, or a NaN
    or infinite total rate mean the SLO's queries are broken: an error, never a severity.
    """
    label = format_duration(window)
    if ratio is not None and math.isinf(ratio):
        raise _SloFailure(
            f"the error ratio over {label} is {ratio}: the errors query counts events the "
            "total query does not",
            window,
        )
    if counts and total_rate is not None and not math.isfinite(total_rate):
        raise _SloFailure(f"the total event rate over {label} is {total_rate}", window)
    events = total_rate * window if counts and total_rate is not None else None
    if ratio is not None and math.isnan(ratio) and events is not None and events > 0:
        raise _SloFailure(
            f"the error ratio over {label} is NaN although the total rate is {total_rate:g}/s",
            window,
        )
    if ratio is None and events is not None and events > 0:
        # Requests flowed but the ratio has no series: the errors side is empty, because client
        # libraries create an error series only on the first error. That is 0 % errors, not a
        # gap; without traffic (events 0 or unknown) it stays "no data".
        ratio = 0.0
    return WindowReading(ratio, events)


def _one_line(expr: str) -> str:
    return " ".join(expr.split())


def _le_value(le: str) -> float:
    try:
        return float(le)
    except ValueError:
        return math.nan


def _check_bucket(slo: SLO, samples: list[Sample]) -> None:
    """Fail when the histogram has buckets but not the exact ``le`` the SLO's query matches."""
    ind = slo.indicator
    if not isinstance(ind, LatencyIndicator):
        return
    present = sorted({s.labels.get("le", "") for s in samples}, key=_le_value)
    if not present or ind.le in present:
        return  # no recent series at all is no data, not a misconfiguration
    near = [le for le in present if _le_value(le) == ind.threshold_seconds]
    if near:
        raise _SloFailure(
            f'histogram {ind.histogram} writes the bucket as le="{near[0]}" but the query '
            f'matches the exact string le="{ind.le}"; no series can match'
        )
    raise _SloFailure(
        f"histogram {ind.histogram} has no bucket for threshold {ind.threshold_seconds:g}s "
        f'(le="{ind.le}"); its buckets are '
        + ", ".join(f'le="{le}"' for le in present)
        + ": use one of those as the threshold"
    )


# --------------------------------------------------------------------------- recorded series

PROBE = f"group by (sloth_id, {rules.HASH_LABEL}) ({rules.INFO})"


@dataclass(frozen=True, slots=True)
class Recorded:
    """Which SLOs (by name) Prometheus records: their windows, and also their period."""

    windows: frozenset[str] = frozenset()
    periods: frozenset[str] = frozenset()


async def probe_recorded(slos: Sequence[SLO], source: Source, at: float) -> Recorded:
    """Find the SLOs whose recording rules run in Prometheus at ``at``; one query, plus one per
    distinct SLO period when any are found.

    ``sloth_slo_info`` carries a hash of what the recorded ratios mean (indicator, windows,
    grouping); an SLO whose definition changed since its rules were loaded is read directly.
    The period ratio is summed from recorded 5m rates, so it is only trusted when the rules
    already ran one period ago (``sloth_slo_info offset <period>``); otherwise the period alone
    is queried directly. Any probe failure means: query everything directly.
    """

    async def present(offset: str) -> set[tuple[str, str]] | None:
        expr = (
            PROBE
            if not offset
            else f"group by (sloth_id, {rules.HASH_LABEL}) " + (f"({rules.INFO} offset {offset})")
        )
        try:
            got = await source.query(expr, at)
        except SloguardError:
            return None  # without the probe, direct queries are always a safe answer
        return {(s.labels.get("sloth_id", ""), s.labels.get(rules.HASH_LABEL, "")) for s in got}

    now = await present("")
    if not now:
        return Recorded()
    ready = [s for s in slos if _fingerprint(s) in now]
    periods: set[str] = set()
    for period in sorted({s.period_seconds for s in ready}):
        then = await present(rules.prom_duration(period)) or set()
        periods |= {s.name for s in ready if s.period_seconds == period and _fingerprint(s) in then}
    return Recorded(frozenset(s.name for s in ready), frozenset(periods))


def plan_recorded(
    slos: Sequence[SLO], found: Recorded, *, direct_windows_max_seconds: float = 0
) -> Plan:
    """Like :func:`plan`, reading the SLOs in ``found`` from recorded series, except their
    windows of at most ``direct_windows_max_seconds`` (queried directly, shared as in
    :func:`plan`)."""
    planned: list[SloPlan] = []
    with_period = _from_rules(direct_windows_max_seconds, period=True)
    but_period = _from_rules(direct_windows_max_seconds, period=False)
    for slo in slos:
        if slo.name not in found.windows:
            planned.append(_planned(slo))
            continue
        planned.append((with_period if slo.name in found.periods else but_period)(slo))
    distinct = dict.fromkeys(q for p in planned for q in p.queries)
    series = dict.fromkeys(q for p in planned if p.recorded for q in p.series)
    return Plan(slos=tuple(planned), queries=tuple(distinct), recorded=tuple(series))


class _LastPlan:
    """The last recorded plan, for the next call with the same SLOs (the same objects, in the
    same order) and the same probe result: a daemon's ticks, until its rules or SLOs change.
    At 10,000 SLOs planning goes through 10,000 SLOs and their 150,000 windows."""

    def __init__(self) -> None:
        self._key: tuple[tuple[SLO, ...], Recorded, float] | None = None
        self._plan: Plan | None = None

    def get(self, slos: Sequence[SLO], found: Recorded, direct_max: float) -> Plan:
        key = self._key
        if (
            self._plan is not None
            and key is not None
            and key[2] == direct_max
            and key[1] == found
            and len(key[0]) == len(slos)
            and all(map(operator.is_, key[0], slos))
        ):
            return self._plan
        self._key, self._plan = None, None  # the old plan goes before the new one is built
        the_plan = plan_recorded(slos, found, direct_windows_max_seconds=direct_max)
        self._key, self._plan = (tuple(slos), found, direct_max), the_plan
        return the_plan


_LAST_RECORDED_PLAN = _LastPlan()


def _plan_from_rules(slo: SLO, *, period: bool, direct_max: float = 0) -> SloPlan:
    """The plan of one SLO read from recorded series (the period too, with ``period``);
    windows of at most ``direct_max`` seconds stay direct queries."""
    direct = plan_slo(slo)  # not memoized: in recorded mode only what is kept below is needed
    ratio: dict[int, str] = {}
    total: dict[int, str] = {}
    recorded: list[int] = []
    for w in direct.ratio:
        if w <= direct_max or (w == slo.period_seconds and not period):
            ratio[w] = direct.ratio[w]
            if w in direct.total:
                total[w] = direct.total[w]
            continue
        recorded.append(w)
        ratio[w] = _series_name(rules.RATIO, w)
        if w in direct.total and w != slo.period_seconds:
            total[w] = _series_name(rules.TOTAL, w)
    return SloPlan(
        slo=slo,
        ratio=ratio,
        total=total,
        bucket_check=direct.bucket_check,
        recorded=_windows(tuple(recorded)),
        sloth_id=_fingerprint(slo)[0],
    )


@functools.lru_cache(maxsize=256)
def _windows(windows: tuple[int, ...]) -> frozenset[int]:
    return frozenset(windows)  # one set per window set, shared by the SLOs' plans


_RECORDED_PLANNERS: dict[tuple[float, bool], _PerSlo[SloPlan]] = {}


def _from_rules(direct_max: float, *, period: bool) -> _PerSlo[SloPlan]:
    """The memoized recorded planner for one setting (a daemon keeps one for its lifetime)."""
    planner = _RECORDED_PLANNERS.get((direct_max, period))
    if planner is None:
        if len(_RECORDED_PLANNERS) >= 16:  # settings changed by many reloads: start afresh
            _RECORDED_PLANNERS.clear()
        planner = _PerSlo(lambda slo: _plan_from_rules(slo, period=period, direct_max=direct_max))
        _RECORDED_PLANNERS[(direct_max, period)] = planner
    return planner


_fingerprint = _PerSlo(lambda slo: (rules.sloth_id(slo), rules.sli_hash(slo)))


@functools.lru_cache(maxsize=256)
def _series_name(prefix: str, window: int) -> str:
    """One string per recorded name, shared by every SLO's plan."""
    return f"{prefix}{rules.prom_duration(window)}"


def bulk_query(name: str) -> str:
    """The one query of a recorded series for all SLOs: ``max without (sloth_window)``.

    Every series of a recorded name has the same ``sloth_window``, so each group of this
    aggregation is exactly one series and its value is that series' value (NaN and Inf
    included); it keeps every label but ``sloth_window`` and ``__name__``, as sloguard's own
    alert rules do. Those two labels are over a quarter of each series' JSON, and at 10,000
    SLOs an answer has 10,000 series.
    """
    return f"max without (sloth_window) ({name})"


_Split = dict[str, "list[Sample] | float"]


def _by_sloth_id(samples: list[Sample], sids: Mapping[str, str], grouped: set[str]) -> _Split:
    """One answer of a recorded series, by ``sloth_id``: the series of each SLO, or just the
    value of the one series of an ungrouped SLO (all it reads; the labels are dropped).

    ``sids`` maps each planned ``sloth_id`` to itself, so the keys are the plan's strings and
    not one more copy per answer; series of other SLOs (no one reads them) are left out.
    ``grouped`` holds the ids of grouped SLOs.
    """
    split: dict[str, list[Sample]] = {}
    for sample in samples:
        sid = sids.get(sample.labels.get("sloth_id", ""))
        if sid is None:
            continue
        got = split.get(sid)
        if got is None:
            split[sid] = [sample]
        else:
            got.append(sample)
    out: _Split = {}
    for sid, series in split.items():
        out[sid] = series[0].value if len(series) == 1 and sid not in grouped else series
    return out


__all__ = [
    "AUTO_DIRECT_MAX_SLOS",
    "PROBE",
    "Plan",
    "Recorded",
    "SloPlan",
    "auto_direct_windows",
    "bucket_selector",
    "bulk_query",
    "crossed",
    "evaluate_all",
    "evaluate_planned",
    "group_expr",
    "group_key",
    "plan",
    "plan_recorded",
    "plan_slo",
    "probe_recorded",
    "run",
]
