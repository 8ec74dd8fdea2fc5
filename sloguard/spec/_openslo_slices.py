"""OpenSLO budgeting methods and threshold metrics mapped onto sloguard's indicators.

``budgetingMethod`` decides what one objective's indicator becomes:

* ``Occurrences`` with a ratio: the ratio as it is (good/total events over the window);
* ``Timeslices`` with a ratio: time slices of ``timeSliceWindow``; a slice is good when its
  success ratio reaches ``timeSliceTarget`` (``spec.indicator.timeslices.slice_target_percent``);
* ``RatioTimeslices`` with a ratio: the mean of the slices' success ratios (no target);
* a ``thresholdMetric`` under any method: a slice is good when the query's value satisfies the
  objective's ``op`` and ``value``. A slice has one value, so its success is 1 or 0 and the three
  methods agree: the share of slices that meet the threshold. Occurrences counts one value per
  slice (``timeSliceWindow``, 1m when not given).

``openslo/v1alpha`` has no ``timeSliceWindow``: its slices are one minute.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sloguard.durations import DurationError, format_duration, parse_duration
from sloguard.model import SLICE_OPS
from sloguard.spec._build import query_grouping
from sloguard.spec._openslo_sli import Links
from sloguard.spec._reader import Reader
from sloguard.spec._yaml import Path_

METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
DEFAULT_SLICE = "1m"
_SLICES: Path_ = ("spec", "indicator", "timeslices")
_RATIO: Path_ = ("spec", "indicator", "ratio")


def objective_indicator(
    reader: Reader, native: Links, path: Path_, method: str, sli: dict[str, Any]
) -> dict[str, Any] | None:
    """The native indicator of the objective at ``path`` for ``sli`` (``{"ratio": {...}}`` or
    ``{"threshold": query}``) under ``method``; None after a located error."""
    doc = reader.doc
    target = doc.get((*path, "timeSliceTarget"))
    needs_target = method == "Timeslices" and "ratio" in sli
    if (target is not None or needs_target) and not _fraction(target):
        reader.error(
            (*path, "timeSliceTarget") if target is not None else path,
            "timeSliceTarget: budgetingMethod Timeslices needs a number above 0 and at most 1 "
            f"(a slice is good when this share of its events is good, e.g. 0.95), got {target!r}",
        )
        return None
    if "threshold" in sli:  # a threshold slice is good or bad: any target gives the same
        return _threshold(reader, native, path, sli["threshold"])
    if method == "Occurrences":
        for key in ("timeSliceTarget", "timeSliceWindow"):
            if doc.get((*path, key)) is not None:
                reader.error(
                    (*path, key),
                    f"{key} is for budgetingMethod Timeslices or RatioTimeslices; this SLO "
                    "counts Occurrences (drop it, or change budgetingMethod)",
                )
                return None
        return sli
    slice_ = _slice(reader, native, path)
    if slice_ is None:
        return None
    out: dict[str, Any] = {"slice": slice_, "ratio": sli["ratio"]}
    for part in ("errors", "total"):  # errors in the ratio point at the source's queries
        if (*_RATIO, part) in native.keys:
            native.keys[(*_SLICES, "ratio", part)] = native.keys[(*_RATIO, part)]
            native.names[(*_SLICES, "ratio", part)] = native.names[(*_RATIO, part)]
    if method == "RatioTimeslices":
        if target is not None:
            reader.warn(
                (*path, "timeSliceTarget"),
                "timeSliceTarget not used: RatioTimeslices averages the slices' success "
                "ratios (Timeslices counts the slices that reach the target)",
            )
        return {"timeslices": out}
    native.link((*_SLICES, "slice_target_percent"), (*path, "timeSliceTarget"))
    out["slice_target_percent"] = float(Decimal(repr(float(target))) * 100)
    return {"timeslices": out}


def _fraction(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1


def _threshold(reader: Reader, native: Links, path: Path_, query: str) -> dict[str, Any] | None:
    doc = reader.doc
    op, value = doc.get((*path, "op")), doc.get((*path, "value"))
    ok = True
    if op not in SLICE_OPS:
        where = (*path, "op") if op is not None else path
        reader.error(
            where,
            f"op {'missing' if op is None else repr(op)}: a thresholdMetric objective needs "
            f"op, one of {', '.join(SLICE_OPS)} "
            "(a slice is good when value <op> threshold)",
        )
        ok = False
    if isinstance(value, bool) or not isinstance(value, int | float):
        where = (*path, "value") if value is not None else path
        reader.error(where, f"value: a thresholdMetric objective needs a number, got {value!r}")
        ok = False
    slice_ = _slice(reader, native, path, DEFAULT_SLICE)
    if not ok or slice_ is None:
        return None
    native.link((*_SLICES, "threshold", "op"), (*path, "op"))
    native.link((*_SLICES, "threshold", "threshold"), (*path, "value"))
    threshold = {"query": query, "op": op, "threshold": float(value)}
    return {"timeslices": {"slice": slice_, "threshold": threshold}}


def _slice(reader: Reader, native: Links, path: Path_, default: str | None = None) -> str | None:
    """``timeSliceWindow`` as a native duration (a number is seconds, ``1m`` one minute)."""
    value = reader.doc.get((*path, "timeSliceWindow"))
    if value is None:
        if default is not None or reader.doc.data.get("apiVersion") == "openslo/v1alpha":
            return default or DEFAULT_SLICE
        reader.error(path, "timeSliceWindow: required by Timeslices and RatioTimeslices, e.g. 1m")
        return None
    native.link((*_SLICES, "slice"), (*path, "timeSliceWindow"))
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise DurationError(f"{value!r} is not a duration")
        seconds = value if isinstance(value, int) else parse_duration(value)
        return format_duration(seconds)
    except DurationError as exc:
        reader.error(
            (*path, "timeSliceWindow"),
            f"timeSliceWindow: {exc}; give seconds or a duration such as 1m or 5m",
        )
        return None


def grouped(indicator: dict[str, Any]) -> dict[str, Any]:
    """``group_by`` when every query aggregates ``by`` the same labels (one SLO per group)."""
    inner = indicator.get("timeslices", indicator)
    if "threshold" in inner:
        queries = [inner["threshold"]["query"]]
    else:
        queries = list(inner["ratio"].values())
    group_by = query_grouping(*queries)
    return {"group_by": group_by} if group_by else {}
