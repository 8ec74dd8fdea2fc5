"""A bulk recorded answer read straight by ``sloth_id``: what
:meth:`sloguard.ports.BulkSource.query_by_sloth_id` gives, off Prometheus's JSON in one pass.

At 10,000 SLOs each recorded series' answer has 10,000 series and a tick asks 15 of them;
parsing each into a :class:`~sloguard.ports.Sample` and then splitting the samples by
``sloth_id`` made 150,000 objects and two passes per tick. Here the usual answer (every series
well formed, one per ungrouped SLO) is split as it is read, keeping only each SLO's value (and
a grouped SLO's series). Anything else (a malformed series, a scalar, an ungrouped SLO with
several series) gets None here, and the client reads it the readable way
(:func:`~sloguard.prometheus.client.parse_instant`, then :func:`~sloguard.ports.by_sloth_id`),
so it gives the same answer or raises the same error. The recorded-rules probe's answers are
read the same way for the two labels it reads (:func:`instant_label_values`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any

from sloguard.ports import BySlothId, Sample


def instant_by_sloth_id(
    data: Mapping[str, Any], sids: Mapping[str, str], grouped: Set[str]
) -> BySlothId | None:
    """``by_sloth_id(parse_instant(data, expr), sids, grouped)`` in one pass, for the usual
    answer; None for any other (then ask that)."""
    result = data.get("result")
    if data.get("resultType") != "vector" or type(result) is not list:
        return None
    out: BySlothId = {}
    for item in result:
        read = _series(item)
        if read is None:
            return None
        labels, value = read
        sid = sids.get(labels.get("sloth_id", ""))
        if sid is None:
            continue  # a series no SLO reads
        if sid in grouped:
            series = out.setdefault(sid, [])
            series.append(Sample(labels, value))  # type: ignore[union-attr]
        elif sid in out:
            return None  # several series of an ungrouped SLO: by_sloth_id keeps them all
        else:
            out[sid] = value
    return out


def instant_label_values(
    data: Mapping[str, Any], names: Sequence[str]
) -> set[tuple[str, ...]] | None:
    """``label_values(parse_instant(data, expr), names)`` in one pass, for the usual answer;
    None for any other (then ask that). The recorded-rules probe: two answers of one series
    per SLO each tick, of which only two labels are read."""
    result = data.get("result")
    if data.get("resultType") != "vector" or type(result) is not list:
        return None
    out: set[tuple[str, ...]] = set()
    blanks = ("",) * len(names)
    for item in result:
        read = _series(item)
        if read is None:
            return None
        out.add(tuple(map(read[0].get, names, blanks)))
    return out


def _series(item: Any) -> tuple[dict[str, str], float] | None:
    """One series of a vector answer as its labels and value, in the shape parse_instant takes
    without a second look (it checks every series, read or not); None for anything else, and
    the readable way says what is wrong."""
    if type(item) is not dict:
        return None
    labels, point = item.get("metric"), item.get("value")
    if (
        type(labels) is not dict
        or type(point) is not list
        or len(point) != 2
        or type(point[1]) is not str
        or type(point[0]) not in (float, int)
    ):
        return None
    for v in labels.values():  # JSON object keys are always strings; values need not be
        if type(v) is not str:
            return None
    try:
        return labels, float(point[1])
    except ValueError:
        return None


__all__ = ["instant_by_sloth_id", "instant_label_values"]
