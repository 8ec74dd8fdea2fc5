"""Answers -> evaluations: the one place that turns what Prometheus said into verdicts.

Each SLO's readings are built (events = total rate x window seconds) and
:func:`sloguard.burn.evaluate` decides. Failures stay per SLO: a query that fails, answers with
several series where one was expected, or a missing histogram bucket turns only the SLOs that
depend on it into :func:`sloguard.burn.failed` evaluations carrying the reason.

Grouped SLOs (``SLO.group_by``) give one evaluation per group, keyed ``name{label="value"}``;
an ungrouped SLO is the one group ``()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from sloguard.burn import NO_READING, Evaluation, WindowReading, evaluate, evaluate_numbers, failed
from sloguard.durations import format_duration
from sloguard.engine._ask import Answer, Answers, RecordedAnswers
from sloguard.engine._plan import SloPlan
from sloguard.errors import QueryError, SloguardError
from sloguard.model import SLO, LatencyIndicator
from sloguard.ports import Sample

GroupKey = tuple[str, ...]
Values = Mapping[GroupKey, float]  # one query's value per group

_NO_LABELS: Mapping[str, str] = MappingProxyType({})
_NO_SERIES: list[Sample] = []  # shared by every SLO without a series: read, never written
_NO_RECORDED: RecordedAnswers = MappingProxyType({})


class SloFailure(Exception):
    """Why one SLO (or group) cannot be evaluated, and over which window (internal)."""

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
    try:
        if sp.bucket_check is not None:
            check_bucket(slo, as_samples(answer_of(sp, 0, sp.bucket_check, answers, rec)))
        ratios = {w: _values(sp, w, q, answers, rec) for w, q in sp.ratio.items()}
        totals = {w: _values(sp, w, q, answers, rec) for w, q in sp.total.items()}
    except (SloFailure, SloguardError) as exc:
        return [failed(slo, at, f"{slo.name}: {exc}")]
    if not slo.group_by:
        return [_evaluate_group(sp, (), ratios, totals, at)]
    groups = sorted({g for m in (*ratios.values(), *totals.values()) for g in m})
    if not groups:
        return [evaluate(slo, {}, None, at)]  # a grouped SLO without any series: NO_DATA
    return [_evaluate_group(sp, g, ratios, totals, at) for g in groups]


def plain_numbers(sp: SloPlan, recorded: RecordedAnswers) -> list[float] | None:
    """Every number the evaluation of ``sp`` reads (its ratios in window order, then its
    totals), when that evaluation is a function of those numbers alone (its instant aside);
    None when it is not, or not simply.

    That holds for an ungrouped rolling SLO read wholly from recorded series
    (:attr:`SloPlan.plain`, worked out with the plan), each of whose answers is one plain
    number (see ``ports.by_sloth_id``). A calendar SLO (its period's span moves with the
    instant), a grouped one, a bucket check, a direct window, a failed query or a missing
    series: None, and :func:`evaluate_planned` decides.
    """
    reads = sp.plain
    if reads is None:
        return None
    sid = sp.sloth_id
    try:
        # A failed query (not subscriptable) or a missing series (KeyError) is not a number.
        values = [recorded[q][sid] for q in reads]  # type: ignore[index]
    except (TypeError, KeyError):
        return None
    for v in values:
        if type(v) is not float:
            return None  # a list of series: several where one was expected
    return values  # type: ignore[return-value]


def evaluate_plain(sp: SloPlan, numbers: list[float], at: float) -> Evaluation | None:
    """:func:`evaluate_planned` of an SLO whose :func:`plain_numbers` are ``numbers``, in the
    usual case that every one is finite: the same evaluation, without a mapping per query or
    a reading per window (at 10,000 SLOs, 150,000 of each per tick). None when a number is
    NaN or infinite: no data or a broken query, which :func:`evaluate_planned` tells apart."""
    if not all(map(math.isfinite, numbers)):
        return None
    slo = sp.slo
    ratios = dict(zip(sp.ratio, numbers, strict=False))
    # As reading(): events = total rate x window (a rolling SLO's period is its own window).
    events = {w: rate * w for w, rate in zip(sp.total, numbers[len(sp.ratio) :], strict=True)}
    p = slo.period_seconds
    period = WindowReading(ratios[p], events.get(p)) if p in ratios else NO_READING
    return evaluate_numbers(slo, ratios, events, period, at, key=slo.name)


def _evaluate_group(
    sp: SloPlan,
    group: GroupKey,
    ratios: Mapping[int, Values],
    totals: Mapping[int, Values],
    at: float,
) -> Evaluation:
    slo = sp.slo
    key = group_key(slo, group)
    readings: dict[int, WindowReading] = {}
    for w in sp.ratio:
        total = totals.get(w)
        # A calendar SLO's period was asked over the elapsed part of the current period.
        span = slo.budget_window_seconds(at) if w == slo.period_seconds else w
        try:
            readings[w] = reading(
                ratios[w].get(group),
                None if total is None else total.get(group),
                span,
                total is not None,
            )
        except SloFailure as exc:
            return failed(slo, at, f"{key}: {exc} (query: {_query_line(sp, w)})", key=key)
    period = readings.pop(slo.period_seconds, NO_READING)
    if slo.period_seconds in slo.window_seconds:
        readings[slo.period_seconds] = period
    labels = dict(zip(slo.group_by, group, strict=True)) if group else _NO_LABELS
    return evaluate(slo, readings, period, at, key=key, labels=labels)


def _values(sp: SloPlan, window: int, query: str, answers: Answers, rec: RecordedAnswers) -> Values:
    got = answer_of(sp, window, query, answers, rec)
    if type(got) is float:  # the compact answer of an ungrouped SLO (see ports.by_sloth_id)
        return {(): got}
    return by_group(sp.slo, sp.query_text(window, query), as_samples(got))


def answer_of(
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


def _query_line(sp: SloPlan, window: int) -> str:
    return _one_line(sp.query_text(window, sp.ratio[window]))


def group_key(slo: SLO, group: GroupKey) -> str:
    """The key of one group's evaluation: the SLO's name, with the group's labels if grouped."""
    if not slo.group_by:
        return slo.name
    inner = ",".join(f'{k}="{v}"' for k, v in zip(slo.group_by, group, strict=True))
    return f"{slo.name}{{{inner}}}"


def as_samples(got: Answer) -> list[Sample]:
    """The series of an answer; raises its error."""
    if isinstance(got, SloguardError):
        raise got
    if not isinstance(got, list):  # the compact answer of an ungrouped SLO
        return [Sample(_NO_LABELS, got)]
    return got


def by_group(slo: SLO, expr: str, samples: list[Sample]) -> dict[GroupKey, float]:
    """One value per group (the single value under ``()`` when ungrouped)."""
    if not slo.group_by and len(samples) > 1:
        shown = ", ".join(_labels_text(s.labels) for s in samples[:3])
        more = f" and {len(samples) - 3} more" if len(samples) > 3 else ""
        raise QueryError(
            f"the query returned {len(samples)} series where one was expected ({shown}{more}); "
            "aggregate it with sum(...) or set group_by "
            f"(query: {_one_line(expr)})",
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
                f"(query: {_one_line(expr)})",
                query=expr,
            )
        out[key] = s.value
    return out


def _labels_text(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def reading(
    ratio: float | None, total_rate: float | None, window: int, counts: bool
) -> WindowReading:
    """Events = total rate x window; unknown for raw indicators or a missing total.

    No ratio series while the total shows traffic means no error was ever counted: 0.0.

    NaN with no traffic is "no data" (0/0). An infinite ratio, NaN while requests flow, or a NaN
    or infinite total rate mean the SLO's queries are broken: an error, never a severity.
    """
    isfinite = math.isfinite
    if ratio is not None and total_rate is not None and isfinite(ratio) and isfinite(total_rate):
        return WindowReading(ratio, total_rate * window if counts else None)  # the usual case
    if ratio is not None and math.isinf(ratio):
        raise SloFailure(
            f"the error ratio over {format_duration(window)} is {ratio}: the errors query "
            "counts events the total query does not",
            window,
        )
    if counts and total_rate is not None and not isfinite(total_rate):
        raise SloFailure(
            f"the total event rate over {format_duration(window)} is {total_rate}", window
        )
    events = total_rate * window if counts and total_rate is not None else None
    if ratio is not None and math.isnan(ratio) and events is not None and events > 0:
        raise SloFailure(
            f"the error ratio over {format_duration(window)} is NaN although the total rate "
            f"is {total_rate:g}/s",
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


def check_bucket(slo: SLO, samples: list[Sample]) -> None:
    """Fail when the histogram has buckets but not the exact ``le`` the SLO's query matches."""
    ind = slo.indicator
    if not isinstance(ind, LatencyIndicator):
        return
    present = sorted({s.labels.get("le", "") for s in samples}, key=_le_value)
    if not present or ind.le in present:
        return  # no recent series at all is no data, not a misconfiguration
    near = [le for le in present if _le_value(le) == ind.threshold_seconds]
    if near:
        raise SloFailure(
            f'histogram {ind.histogram} writes the bucket as le="{near[0]}" but the query '
            f'matches the exact string le="{ind.le}"; no series can match'
        )
    raise SloFailure(
        f"histogram {ind.histogram} has no bucket for threshold {ind.threshold_seconds:g}s "
        f'(le="{ind.le}"); its buckets are '
        + ", ".join(f'le="{le}"' for le in present)
        + ": use one of those as the threshold"
    )
