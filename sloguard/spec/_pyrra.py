"""Pyrra ``pyrra.dev/v1alpha1`` ServiceLevelObjective documents, converted into native documents.

Mapping (see docs/spec.md, "Importing from Pyrra"):

    metadata.name                        metadata.name
    metadata.namespace                   spec.service and metadata.namespace (name when absent)
    metadata.labels                      metadata.k8s_labels; ``pyrra.dev/<l>: v`` also labels
                                         the SLO (Pyrra puts those on its series)
    spec.target ("99.95") / window       spec.objective / spec.window (whole days)
    indicator.ratio errors/total         ratio of sum(rate(<metric>[{{.window}}]))
    indicator.latency success/total      ratio: errors = total - success (Pyrra's own errors)
    indicator.bool_gauge                 ratio of count_over_time - sum_over_time of the gauge
    indicator.*.grouping                 spec.group_by (and ``sum by (...)``)
    alerting.disabled / burnrates false  spec.alerting.tiers: [] (recordings only)
    (Pyrra's multi-burn-rate windows)    four tiers scaled to the window as Pyrra scales them

    indicator.latencyNative              ratio: total = histogram_count(sum(rate(m))), errors =
                                         total - histogram_fraction(0, <latency>, ...) x total
    alerting.name / labels / annotations spec.alerting.name / labels / annotations
    alerting.absent (default on)         spec.alerting.absent: Pyrra's absent() alerts, same
                                         selectors, ``for`` and ``severity: critical``
    alerting.absentName                  spec.alerting.absent.name
    alerting.severities                  page / ticket / absent ``severity`` labels
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sloguard.durations import (
    DurationError,
    format_duration,
    parse_duration,
    parse_duration_ms,
)
from sloguard.errors import Problem
from sloguard.spec._native import API_VERSION, KIND
from sloguard.spec._reader import Reader
from sloguard.spec._yaml import Doc, Path_

API = "pyrra.dev/v1alpha1"

Converted = tuple[Doc, str, list[Problem]]

_TOP = ("apiVersion", "kind", "metadata", "spec", "status")
_SPEC = ("description", "target", "window", "indicator", "alerting", "partial_response_strategy")
_INDICATORS = ("ratio", "latency", "latencyNative", "bool_gauge")
_ALERTING = (
    "disabled",
    "burnrates",
    "absent",
    "name",
    "absentName",
    "labels",
    "annotations",
    "severities",
)
# Pyrra's ``severity`` label per burn-rate window, and its defaults; sloguard's page alerts
# (SEV1, SEV2) and its ticket alert (SEV3) each carry one.
_SEVERITIES = (
    ("page", "fastBurn", "mediumBurn", "critical"),
    ("ticket", "slowBurn", "longTermBurn", "warning"),
)
_LABEL_PREFIX = "pyrra.dev/"
_MINUTE = 60

# Pyrra's burn-rate windows as fractions of the SLO window (28d: 1h/5m, 6h/30m, 1d/2h, 4d/6h),
# rounded to the minute as Pyrra rounds them, and the burn-rate factor of each.
_WINDOWS = (
    ("SEV1", 28 * 24, 28 * 24 * 12, 14),
    ("SEV2", 28 * 4, 28 * 24 * 2, 7),
    ("SEV3", 28, 28 * 12, 2),
    ("SEV3", 7, 28 * 4, 1),
)


def convert(doc: Doc) -> tuple[list[Converted], list[Problem], list[Problem]]:
    """One Pyrra ServiceLevelObjective: one native document."""
    reader = Reader(doc)
    kind = doc.data.get("kind")
    if kind != "ServiceLevelObjective":
        reader.error(
            ("kind",),
            f"kind {kind!r} of {API} is not supported; sloguard reads ServiceLevelObjective",
        )
        return [], reader.problems, []
    reader.fields((), _TOP)
    fields = reader.fields(("spec",), _SPEC)
    native = _Native(doc)
    name = doc.get(("metadata", "name"))
    if not isinstance(name, str) or not name:
        reader.error(("metadata",), "metadata.name: required, the SLO's name")
    namespace = doc.get(("metadata", "namespace"))
    service = namespace if isinstance(namespace, str) and namespace else name
    native.link(("metadata", "name"), ("metadata", "name"))
    native.link(("spec", "service"), ("metadata", "namespace" if namespace else "name"))
    spec: dict[str, Any] = {"service": service}
    metadata: dict[str, Any] = {"name": name, **_labels(doc, native)}
    if isinstance(namespace, str) and namespace:
        metadata["namespace"] = namespace
        native.link(("metadata", "namespace"), ("metadata", "namespace"))
    if "description" in fields:
        spec["description"] = doc.get(fields["description"])
        native.link(("spec", "description"), fields["description"])
    objective = _target(reader, native, fields)
    window = _window(reader, native, fields)
    indicator = _indicator(reader, native, fields)
    if indicator is not None:
        spec["indicator"], group_by, absent = indicator
        if group_by:
            spec["group_by"] = group_by
    if "partial_response_strategy" in fields:
        reader.warn(
            fields["partial_response_strategy"],
            "partial_response_strategy not imported: it only concerns Thanos Ruler",
        )
    if reader.problems or objective is None or window is None or indicator is None:
        return [], reader.problems, reader.warnings
    spec.update(objective=objective, window=format_duration(window))
    spec["alerting"] = _alerting(reader, native, fields, window, objective, absent)
    data = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
    return [(native.doc(data), API, reader.warnings)], reader.problems, reader.warnings


class _Native:
    """The native document's paths linked to the Pyrra document's locations."""

    def __init__(self, doc: Doc) -> None:
        self.source = doc
        self.keys: dict[Path_, Any] = {}
        self.names: dict[Path_, str] = {}

    def link(self, native: Path_, source: Path_) -> None:
        self.keys[native] = self.source.key(source)
        self.names[native] = self.source.display(source)

    def doc(self, data: dict[str, Any]) -> Doc:
        return Doc(self.source.file, data, self.source.start, self.keys, {}, self.names)


def _labels(doc: Doc, native: _Native) -> dict[str, Any]:
    labels = doc.get(("metadata", "labels"))
    if not isinstance(labels, dict) or not labels:
        return {}
    native.link(("metadata", "k8s_labels"), ("metadata", "labels"))
    own = {
        str(k).removeprefix(_LABEL_PREFIX): v
        for k, v in labels.items()
        if str(k).startswith(_LABEL_PREFIX)
    }
    for key in labels:
        if str(key).startswith(_LABEL_PREFIX):
            native.link(
                ("metadata", "labels", str(key).removeprefix(_LABEL_PREFIX)),
                ("metadata", "labels", key),
            )
    return {"k8s_labels": labels, "labels": own} if own else {"k8s_labels": labels}


def _target(reader: Reader, native: _Native, fields: dict[str, Path_]) -> float | None:
    if "target" not in fields:
        reader.error(("spec",), 'spec.target: required, a percentage as text (e.g. "99.9")')
        return None
    path = fields["target"]
    value = reader.doc.get(path)
    try:
        target = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        target = None
    if target is None or not 1 <= target < 100:
        reader.error(
            path,
            f"spec.target {value!r}: a percentage above 0 and below 100, as Pyrra reads it "
            '(e.g. "99.9"; 0.999 would mean 0.999 %)',
        )
        return None
    native.link(("spec", "objective"), path)
    return float(target)


def _window(reader: Reader, native: _Native, fields: dict[str, Path_]) -> int | None:
    if "window" not in fields:
        reader.error(("spec",), "spec.window: required, e.g. 28d or 4w")
        return None
    path = fields["window"]
    value = reader.doc.get(path)
    try:
        seconds = parse_duration(str(value))
    except DurationError as exc:
        reader.error(path, f"spec.window: {exc}")
        return None
    if seconds % 86400:
        reader.error(path, f"spec.window {value!r}: sloguard windows are whole days (e.g. 28d, 4w)")
        return None
    native.link(("spec", "window"), path)
    return seconds


def _indicator(
    reader: Reader, native: _Native, fields: dict[str, Path_]
) -> tuple[dict[str, Any], list[str], list[str]] | None:
    """The indicator as a ratio, its grouping, and the selectors of its absent alerts."""
    doc = reader.doc
    if "indicator" not in fields:
        reader.error(
            ("spec",), "spec.indicator: required, one of ratio, latency, latencyNative, bool_gauge"
        )
        return None
    base = fields["indicator"]
    native.link(("spec", "indicator"), base)
    given = reader.fields(base, (*_INDICATORS, "boolGauge"))
    kinds = [k for k in given if k in _INDICATORS or k == "boolGauge"]
    if len(kinds) != 1:
        what = "is empty" if not kinds else "has " + " and ".join(kinds)
        reader.error(
            base,
            f"spec.indicator {what}; give exactly one of ratio, latency, latencyNative, bool_gauge",
        )
        return None
    kind = kinds[0]
    path = given[kind]
    parts = {"ratio": ("errors", "total"), "latency": ("success", "total")}.get(kind, ("metric",))
    if kind == "latencyNative":
        parts = ("total",)
    if kind in ("bool_gauge", "boolGauge"):
        allowed: tuple[str, ...] = ("metric", "grouping")
    else:
        allowed = (*parts, "grouping", *(("latency",) if kind == "latencyNative" else ()))
    sub = reader.fields(path, allowed)
    group_by = _grouping(reader, sub)
    by = f" by ({', '.join(group_by)})" if group_by else ""
    metrics: dict[str, str] = {}
    for part in parts:
        if part != "metric" and part in sub:
            reader.fields(sub[part], ("metric",))
        mpath = (*sub[part], "metric") if part != "metric" and part in sub else sub.get(part)
        metric = doc.get(mpath) if mpath is not None else None
        if not isinstance(metric, str) or not metric.strip():
            reader.error(mpath or path, f"{reader.name(path)}.{part}: required, a metric selector")
            continue
        metrics[part] = metric.strip()
    if len(metrics) != len(parts):
        return None
    if kind == "latencyNative":
        seconds = _latency(reader, path, sub)
        if seconds is None:
            return None
        native.link(("spec", "indicator", "ratio", "errors"), sub.get("latency", path))
        native.link(("spec", "indicator", "ratio", "total"), sub["total"])
        return native_latency(metrics["total"], seconds, by), group_by, []
    if kind == "ratio":
        errors = f"sum{by} (rate({metrics['errors']}[{{{{.window}}}}]))"
        total = f"sum{by} (rate({metrics['total']}[{{{{.window}}}}]))"
        sources = {"errors": sub["errors"], "total": sub["total"]}
    elif kind == "latency":
        total = f"sum{by} (rate({metrics['total']}[{{{{.window}}}}]))"
        success = f"sum{by} (rate({metrics['success']}[{{{{.window}}}}]))"
        errors = f"{total}\n-\n{success}"
        sources = {"errors": sub["success"], "total": sub["total"]}
    else:
        gauge = metrics["metric"]
        total = f"sum{by} (count_over_time({gauge}[{{{{.window}}}}]))"
        errors = f"{total}\n-\nsum{by} (sum_over_time({gauge}[{{{{.window}}}}]))"
        sources = {"errors": sub["metric"], "total": sub["metric"]}
    for target, source in sources.items():
        native.link(("spec", "indicator", "ratio", target), source)
    return {"ratio": {"errors": errors, "total": total}}, group_by, _absent_selectors(metrics)


def native_latency(metric: str, seconds: float, by: str) -> dict[str, Any]:
    """Pyrra's latencyNative as a ratio: its error ratio is ``1 - histogram_fraction(0, <le>,
    sum(rate(<metric>[w])))`` (slo/rules.go), so errors = count - fraction x count."""
    rate = f"sum{by} (rate({metric}[{{{{.window}}}}]))"
    count = f"histogram_count({rate})"
    fraction = f"histogram_fraction(0, {seconds:g}, {rate})"
    return {"ratio": {"errors": f"{count}\n-\n{fraction} * {count}", "total": count}}


def _latency(reader: Reader, path: Path_, sub: dict[str, Path_]) -> float | None:
    if "latency" not in sub:
        reader.error(path, f"{reader.name(path)}.latency: required, e.g. 200ms or 1s")
        return None
    value = reader.doc.get(sub["latency"])
    try:
        return parse_duration_ms(str(value)) / 1000
    except DurationError as exc:
        reader.error(sub["latency"], f"{reader.name(sub['latency'])}: {exc}")
        return None


def _absent_selectors(metrics: dict[str, str]) -> list[str]:
    """The series Pyrra's absent alerts watch: the total, and the errors (or success) series
    when it is another metric (a bool gauge: the gauge)."""
    total = metrics.get("total", metrics.get("metric", ""))
    other = metrics.get("errors", metrics.get("success", ""))
    out = [total]
    if other and other.split("{")[0].strip() != total.split("{")[0].strip():
        out.append(other)
    return out


def _grouping(reader: Reader, sub: dict[str, Path_]) -> list[str]:
    if "grouping" not in sub:
        return []
    value = reader.doc.get(sub["grouping"])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reader.error(sub["grouping"], "grouping: a list of label names (e.g. [handler])")
        return []
    return list(value)


def _alerting(
    reader: Reader,
    native: _Native,
    fields: dict[str, Path_],
    window: int,
    objective: float,
    selectors: list[str],
) -> dict[str, Any]:
    """Tiers as Pyrra's windows, the alert name and labels, and Pyrra's absent alerts."""
    doc = reader.doc
    sub = reader.fields(fields["alerting"], _ALERTING) if "alerting" in fields else {}
    out: dict[str, Any] = {}
    for key, target in (("name", "name"), ("labels", "labels"), ("annotations", "annotations")):
        if key in sub and doc.get(sub[key]) not in (None, "", {}):
            out[target] = doc.get(sub[key])
            native.link(("spec", "alerting", target), sub[key])
    severities = reader.fields(sub["severities"], _SEVERITY_KEYS) if "severities" in sub else {}
    out.update(_severity_labels(reader, native, severities))
    disabled = doc.get(sub["disabled"]) is True if "disabled" in sub else False
    burnrates = doc.get(sub["burnrates"]) is not False if "burnrates" in sub else True
    if disabled or not burnrates:
        native.link(("spec", "alerting"), sub["disabled"] if disabled else sub["burnrates"])
        out["tiers"] = []
    else:
        out["tiers"] = _tiers(window)
        native.link(("spec", "alerting"), fields.get("alerting", ("spec",)))
    # Pyrra's default is on, burn-rate alerts or not; latencyNative has none (no selectors).
    if selectors and ("absent" not in sub or doc.get(sub["absent"]) is not False):
        absent: dict[str, Any] = {
            "selectors": selectors,
            "for": format_duration(_absent_seconds(window, objective)),
            # Pyrra's severity of absent alerts
            "labels": {"severity": str(doc.get(severities["absent"]))}
            if "absent" in severities
            else {"severity": "critical"},
        }
        name = doc.get(sub["absentName"]) if "absentName" in sub else None
        if name:
            absent["name"] = name
            native.link(("spec", "alerting", "absent", "name"), sub["absentName"])
        out["absent"] = absent
        native.link(("spec", "alerting", "absent"), sub.get("absent", ("spec", "indicator")))
    return out


_SEVERITY_KEYS = ("absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn")


def _severity_labels(
    reader: Reader, native: _Native, severities: dict[str, Path_]
) -> dict[str, Any]:
    """``alerting.severities``: the ``severity`` label of the page and ticket alerts. Pyrra
    labels each of its four windows; sloguard's SEV1 and SEV2 share the page labels and its
    two SEV3 windows are one alert, so two different values of one pair are a warning."""
    out: dict[str, Any] = {}
    for kind, first, second, default in _SEVERITIES:
        if first not in severities and second not in severities:
            continue
        values = [
            str(reader.doc.get(severities[k])) if k in severities else default
            for k in (first, second)
        ]
        source = severities.get(first, severities.get(second, ()))
        if values[0] != values[1]:
            reader.warn(
                severities.get(second, source),
                f"alerting.severities.{second} {values[1]!r} not imported: sloguard's "
                f"{'SEV1 and SEV2 pages share' if kind == 'page' else 'SEV3 ticket has'} one "
                f"severity label, {first}'s {values[0]!r}",
            )
        out[kind] = {"labels": {"severity": values[0]}}
        native.link(("spec", "alerting", kind), source)
    return out


def _tiers(window: int) -> list[dict[str, Any]]:
    tiers = []
    for severity, long_div, short_div, factor in _WINDOWS:
        # Pyrra rounds a 1d window's 11s short window to 0s; a rate needs at least a minute.
        long_s = max(_round_minute(window / long_div), 2 * _MINUTE)
        short_s = max(_round_minute(window / short_div), _MINUTE)
        budget = Decimal(factor) * long_s / window * 100
        tiers.append(
            {
                "severity": severity,
                "long": format_duration(long_s),
                "short": format_duration(short_s),
                "budget_percent": float(round(budget, 12)),
            }
        )
    return tiers


def _absent_seconds(window: int, objective: float) -> int:
    """Pyrra's AbsentDuration: how long a 100 % error ratio takes to fire the fastest tier
    (14 x budget over its long window, whole seconds) plus that tier's ``for``, to the minute;
    at least a minute here (Pyrra's can round to 0 for a day-long window)."""
    long_s = _round_minute(window / (28 * 24))
    for_s = _round_minute(window / (28 * 24 * 30))
    seconds = int(14 * (1 - objective / 100) * long_s) + for_s
    return max(_round_minute(seconds), _MINUTE)


def _round_minute(seconds: float) -> int:
    """Go's Duration.Round(time.Minute): halves round away from zero."""
    return int(Decimal(seconds / _MINUTE).quantize(Decimal(1), "ROUND_HALF_UP")) * _MINUTE
