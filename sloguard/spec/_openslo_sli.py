"""The indicator of an OpenSLO SLO read as Prometheus queries: ``ratioMetric`` (good or bad
over total) and ``thresholdMetric``, in ``openslo/v1`` (inline or through ``indicatorRef``) and
``openslo/v1alpha`` (``ratioMetrics`` per objective, ``spec.indicator.thresholdMetric``).

What an objective makes of it (Occurrences, Timeslices, RatioTimeslices) is decided in
:mod:`sloguard.spec._openslo_slices`; sources other than Prometheus get one located error each.
"""

from __future__ import annotations

from typing import Any, Protocol

from sloguard.errors import Location, Problem
from sloguard.spec._build import describe
from sloguard.spec._reader import Reader
from sloguard.spec._yaml import Doc, Path_


class Links(Protocol):
    """Where each path of the native document being built came from in the source."""

    keys: dict[Path_, Location]
    names: dict[Path_, str]

    def link(self, native: Path_, source: Path_, doc: Doc | None = None) -> None: ...


def v1_indicator(reader: Reader, native: Links, slis: dict[str, Doc]) -> Any:
    """The v1 SLO's SLI (inline, or the ``SLI`` its ``indicatorRef`` names) as ``{"ratio":
    {errors, total}}`` or ``{"threshold": query}``; None after a located error."""
    doc = reader.doc
    ref = doc.get(("spec", "indicatorRef"))
    sli_doc = doc
    base: Path_ = ("spec", "indicator", "spec")
    if ref is not None:
        if ref not in slis:
            reader.error(("spec", "indicatorRef"), f"indicatorRef {ref!r}: no SLI with that name")
            return None
        sli_doc, base = slis[ref], ("spec",)
    elif doc.get(("spec", "indicator")) is None:
        reader.error(("spec",), "spec: give indicator or indicatorRef")
        return None
    if sli_doc.get((*base, "thresholdMetric")) is not None:
        qpath: Path_ = (*base, "thresholdMetric")
        query = _v1_query(reader, sli_doc, qpath)
        if query is None:
            return None
        native.link(
            ("spec", "indicator", "timeslices", "threshold", "query"),
            (*qpath, "metricSource", "spec", "query"),
            sli_doc,
        )
        return {"threshold": query}
    ratio = sli_doc.get((*base, "ratioMetric"))
    if not isinstance(ratio, dict):
        reader.error(
            ("spec", "indicatorRef" if ref else "indicator"),
            "a ratioMetric or thresholdMetric is required",
        )
        return None
    queries: dict[str, str] = {}
    for part in ("good", "bad", "total"):
        qpath = (*base, "ratioMetric", part)
        if sli_doc.get(qpath) is None:
            continue
        query = _v1_query(reader, sli_doc, qpath)
        if query is None:
            continue
        queries[part] = query
        target = "total" if part == "total" else "errors"
        native.link(
            ("spec", "indicator", "ratio", target),
            (*qpath, "metricSource", "spec", "query"),
            sli_doc,
        )
    if "total" not in queries or ("good" in queries) == ("bad" in queries):
        if not reader.problems:
            reader.error(("spec",), "ratioMetric needs total and exactly one of good, bad")
        return None
    if "bad" in queries:
        return {"ratio": {"errors": queries["bad"], "total": queries["total"]}}
    return {"ratio": good_total(queries["good"], queries["total"])}


def _v1_query(reader: Reader, sli_doc: Doc, path: Path_) -> str | None:
    """The Prometheus query of the ``metricSource`` under ``path``, or a located error."""
    kind = sli_doc.get((*path, "metricSource", "type"))
    if not isinstance(kind, str) or kind.lower() != "prometheus":
        problem = Problem(
            sli_doc.key((*path, "metricSource", "type")),
            f"metricSource.type {kind!r} is not supported: sloguard reads Prometheus",
            "metricSource.type",
        )
        reader.problems.append(problem)
        return None
    return _query(reader, sli_doc, (*path, "metricSource", "spec"))


def v1alpha_threshold(reader: Reader, native: Links) -> str | None:
    """The query of ``spec.indicator.thresholdMetric``; None without one, "" when broken."""
    doc = reader.doc
    if doc.get(("spec", "indicator")) is None:
        return None
    path: Path_ = ("spec", "indicator", "thresholdMetric")
    reader.fields(("spec", "indicator"), ("thresholdMetric",))
    reader.fields(path, ("source", "queryType", "query"))
    source = doc.get((*path, "source"))
    if not isinstance(source, str) or source.lower() != "prometheus":
        reader.error((*path, "source"), f"source {source!r}: only prometheus is supported")
        return ""
    native.link(("spec", "indicator", "timeslices", "threshold", "query"), (*path, "query"))
    return _query(reader, doc, path) or ""


def v1alpha_ratio(reader: Reader, native: Links, path: Path_) -> dict[str, Any] | None:
    """The ratio of one v1alpha objective's ``ratioMetrics``; None after a located error."""
    doc = reader.doc
    queries: dict[str, str] = {}
    for part in ("good", "total"):
        qpath: Path_ = (*path, "ratioMetrics", part)
        reader.fields(qpath, ("source", "queryType", "query"))
        source = doc.get((*qpath, "source"))
        if not isinstance(source, str) or source.lower() != "prometheus":
            reader.error((*qpath, "source"), f"source {source!r}: only prometheus is supported")
            continue
        query = _query(reader, doc, qpath)
        if query is None:
            continue
        native.link(
            ("spec", "indicator", "ratio", "errors" if part == "good" else "total"),
            (*qpath, "query"),
        )
        queries[part] = query
    if doc.get((*path, "ratioMetrics", "incremental")):
        reader.error(
            (*path, "ratioMetrics", "incremental"), "incremental metrics are not supported"
        )
        return None
    if len(queries) != 2:
        return None
    return {"ratio": good_total(queries["good"], queries["total"])}


def _query(reader: Reader, doc: Doc, path: Path_) -> str | None:
    """The PromQL under ``path``'s ``query``, or a located error naming the keys found instead
    (Nobl9-style files spell it ``promql:``)."""
    value, query = doc.get(path), doc.get((*path, "query"))
    if isinstance(query, str) and query.strip():
        return query
    where = doc.display(path)
    if isinstance(value, dict) and "query" not in value:
        has = ", ".join(repr(str(k)) for k in value) or "nothing"
        message = (
            f"{where}: 'query' is missing (it has {has}); sloguard reads the Prometheus "
            "query from query: ..."
        )
        reader.problems.append(Problem(doc.key(path), message, where))
    else:
        where = doc.display((*path, "query"))
        message = f"{where}: expected a PromQL query (a non-empty string), got {describe(query)}"
        reader.problems.append(Problem(doc.key((*path, "query")), message, where))
    return None


def good_total(good: str, total: str) -> dict[str, str]:
    """errors = total - good keeps event counts (for min_events) and equals 1 - good/total."""
    return {"errors": f"({total.strip()}) - ({good.strip()})", "total": total.strip()}
