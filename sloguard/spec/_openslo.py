"""OpenSLO documents (``openslo/v1`` and ``openslo/v1alpha`` as Sloth reads it) converted into
native documents, one per objective.

What sloguard can represent: an SLO over one rolling window of whole days or one calendar
day, week or month, whose indicator is a ratio or a threshold metric of Prometheus queries,
budgeted by Occurrences, Timeslices or RatioTimeslices (:mod:`sloguard.spec._openslo_slices`).
Everything else gets a precise error (SLO semantics sloguard does not have: composite SLOs,
non-Prometheus sources) or a warning (AlertPolicy, AlertCondition, AlertNotificationTarget,
DataSource: sloguard alerts with its own tiers and routes in its notifier config). The
indicators are read in :mod:`sloguard.spec._openslo_sli`.

Names: ``openslo/v1alpha`` follows Sloth (``<service>-<name>-<objective index>``), so the
same file gets the same SLO names under Sloth and sloguard; ``openslo/v1`` uses
``metadata.name`` (plus ``-<index>`` when an SLO has several objectives).
"""

from __future__ import annotations

import re
from typing import Any

from sloguard.errors import Location, Problem
from sloguard.spec._calendar import openslo_calendar
from sloguard.spec._native import API_VERSION, KIND
from sloguard.spec._openslo_sli import v1_indicator, v1alpha_ratio, v1alpha_threshold
from sloguard.spec._openslo_slices import METHODS, grouped, objective_indicator
from sloguard.spec._reader import Reader
from sloguard.spec._yaml import Doc, Path_

V1 = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
SLOTH_PERIOD_DAYS = 30  # Sloth reads v1alpha with its default SLO period only

Converted = tuple[Doc, str, list[Problem]]

_RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SHORTHAND = re.compile(r"^(\d+)([mhdwMQY])$")
_HEADER = ("apiVersion", "kind", "metadata", "spec")
_METADATA = ("name", "displayName", "labels", "annotations", "namespace")
_IGNORED_KINDS = {
    "AlertPolicy": "sloguard alerts with its own tiers (spec.alerting.tiers)",
    "AlertCondition": "sloguard alerts with its own tiers (spec.alerting.tiers)",
    "AlertNotificationTarget": "pages and incidents are routed in sloguard's notifier config",
    "DataSource": "sloguard reads one Prometheus, set in its own configuration",
    "Service": "sloguard takes the service name from each SLO",
}
_V1_SLO = (
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
)
_V1_OBJECTIVE: tuple[str, ...] = ("displayName", "name", "op", "value", "target")
_V1_OBJECTIVE += ("targetPercent", "timeSliceTarget", "timeSliceWindow", "indicator")
_V1_OBJECTIVE += ("indicatorRef", "compositeWeight")
_V1ALPHA_OBJECTIVE = ("displayName", "ratioMetrics", "target", "op", "value", "timeSliceTarget")
_V1ALPHA_SLO = (
    "description",
    "service",
    "indicator",
    "timeWindows",
    "budgetingMethod",
    "objectives",
)


def convert(docs: list[Doc]) -> tuple[list[Converted], list[Problem], list[Problem]]:
    """Every OpenSLO document of every file, so that ``indicatorRef`` can reach across files."""
    slis: dict[str, Doc] = {}
    for doc in docs:
        if doc.data.get("apiVersion") == V1 and doc.data.get("kind") == "SLI":
            name = doc.get(("metadata", "name"))
            if isinstance(name, str):
                slis[name] = doc
    out: list[Converted] = []
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for doc in docs:
        reader = Reader(doc)
        out.extend(_one(reader, slis))
        problems.extend(reader.problems)
        warnings.extend(reader.warnings)
    return out, problems, warnings


def _one(reader: Reader, slis: dict[str, Doc]) -> list[Converted]:
    doc = reader.doc
    api = doc.data.get("apiVersion")
    if api not in (V1, V1ALPHA):
        reader.error(
            ("apiVersion",),
            f"OpenSLO apiVersion {api!r} is not supported; sloguard reads {V1} and {V1ALPHA}",
        )
        return []
    reader.fields((), _HEADER)
    reader.fields(("metadata",), _METADATA)
    name = doc.get(("metadata", "name"))
    name_ok = isinstance(name, str) and bool(_RFC1123.match(name))
    if not name_ok:
        reader.error(
            ("metadata", "name") if name is not None else ("metadata",),
            f"metadata.name {name!r} is not an RFC 1123 name: lowercase letters, digits and "
            "'-', at most 63, starting and ending with a letter or digit",
        )
    kind = doc.data.get("kind")
    if kind in _IGNORED_KINDS:
        if kind == "Service":
            reader.fields(("spec",), ("description",))
        elif name_ok:
            reader.warn(("kind",), f"OpenSLO {kind} {name!r} not imported: {_IGNORED_KINDS[kind]}")
        return []
    if not isinstance(name, str) or not name_ok:
        return []
    if kind == "SLI" and api == V1:
        return []  # read through indicatorRef
    if kind != "SLO":
        reader.error(("kind",), f"OpenSLO kind {kind!r} is not supported here")
        return []
    if api == V1ALPHA:
        return _v1alpha(reader, name)
    return _v1(reader, name, slis)


class _Native:
    """Builds one native document and the map from its paths to the source's locations."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.keys: dict[Path_, Location] = {}
        self.names: dict[Path_, str] = {}

    def link(self, native: Path_, source: Path_, doc: Doc | None = None) -> None:
        src = doc or self.reader.doc
        self.keys[native] = src.key(source)
        self.names[native] = src.display(source)

    def doc(self, data: dict[str, Any], start: Location) -> Doc:
        return Doc(self.reader.doc.file, data, start, dict(self.keys), {}, dict(self.names))


def _common(reader: Reader, native: _Native, name: str) -> dict[str, Any] | None:
    doc = reader.doc
    spec: dict[str, Any] = {"service": doc.get(("spec", "service"))}
    native.link(("spec", "service"), ("spec", "service"))
    native.link(("metadata", "name"), ("metadata", "name"))
    labels = doc.get(("metadata", "labels"))
    if labels is not None:
        native.link(("metadata", "labels"), ("metadata", "labels"))
    if isinstance(labels, dict):
        labels = {k: _label_value(reader, k, v) for k, v in labels.items()}
    description = doc.get(("spec", "description"))
    if description is not None:
        spec["description"] = description
        native.link(("spec", "description"), ("spec", "description"))
    method = doc.get(("spec", "budgetingMethod"))
    if method not in METHODS:
        reader.error(
            ("spec", "budgetingMethod"),
            f"budgetingMethod {method!r} is not supported: use one of {', '.join(METHODS)}",
        )
        return None
    return {"labels": labels or {}, "spec": spec, "method": method}


def _label_value(reader: Reader, key: Any, value: Any) -> Any:
    """OpenSLO allows a list of values; sloguard labels are strings: one value, or joined."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value
    joined, where = ",".join(value), ("metadata", "labels", key)
    if len(value) > 1:
        why = "sloguard routes match that exact text, Alertmanager can match a part with =~"
        reader.warn(where, f"label {key!r} has {len(value)} values; imported as {joined!r}: {why}")
    return joined


def _objective_target(reader: Reader, native: _Native, path: Path_, allow_op: bool) -> float | None:
    doc = reader.doc
    if not allow_op and doc.get((*path, "op")) is not None:
        reader.error(
            (*path, "op"),
            "op is only for threshold metrics; a ratio objective has just target",
        )
        return None
    for key, scale in (("target", 100.0), ("targetPercent", 1.0)):
        value = doc.get((*path, key))
        if value is None:
            continue
        native.link(("spec", "objective"), (*path, key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            reader.error((*path, key), f"{key}: expected a number, got {value!r}")
            return None
        return round(float(value) * scale, 10)
    reader.error(path, f"{doc.display(path)}: missing target (e.g. target: 0.999)")
    return None


def _v1alpha(reader: Reader, name: str) -> list[Converted]:
    doc = reader.doc
    reader.fields(("spec",), _V1ALPHA_SLO)
    native = _Native(reader)
    common = _common(reader, native, name)
    windows = doc.get(("spec", "timeWindows"))
    window_ok = False
    if windows is None:
        window_ok = True  # Sloth reads a v1alpha SLO without timeWindows as its default 30 days
    elif not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        reader.error(("spec", "timeWindows"), "timeWindows: give exactly one time window")
    else:
        unit, count = windows[0].get("unit"), windows[0].get("count")
        if not isinstance(unit, str) or unit.lower() != "day":
            reader.error(
                ("spec", "timeWindows", 0, "unit"), f"unit {unit!r}: only Day is supported"
            )
        elif count != SLOTH_PERIOD_DAYS:
            reader.error(
                ("spec", "timeWindows", 0, "count"),
                f"a {count}-day window is not supported in {V1ALPHA}: like Sloth, sloguard reads "
                f"{V1ALPHA} with the default {SLOTH_PERIOD_DAYS}-day SLO period only; for another "
                f"window use {V1} or a native sloguard/v1 file",
            )
        else:
            window_ok = True
    threshold = v1alpha_threshold(reader, native)
    objectives = doc.get(("spec", "objectives"))
    if not isinstance(objectives, list) or not objectives:
        reader.error(("spec",), "spec.objectives: required, a list of at least one objective")
        return []
    # A broken header does not stop the objectives' checks: every problem in one run.
    ok = common is not None and window_ok
    out: list[Converted] = []
    for i in range(len(objectives)):
        path: Path_ = ("spec", "objectives", i)
        reader.fields(path, _V1ALPHA_OBJECTIVE)
        target = _objective_target(reader, native, path, allow_op=threshold is not None)
        ratio = doc.get((*path, "ratioMetrics"))
        if threshold is not None:
            sli: dict[str, Any] | None = {"threshold": threshold} if threshold else None
        elif not isinstance(ratio, dict):
            where = doc.display(path)
            reader.error(path, f"{where}: give ratioMetrics (or spec.indicator.thresholdMetric)")
            continue
        else:
            sli = v1alpha_ratio(reader, native, path)
        if sli is None or common is None:
            continue
        indicator = objective_indicator(reader, native, path, common["method"], sli)
        if target is None or indicator is None or not ok:
            continue
        service = common["spec"]["service"]
        spec = dict(common["spec"])
        spec.update(objective=target, window=f"{SLOTH_PERIOD_DAYS}d", indicator=indicator)
        spec.update(grouped(indicator))
        data = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": f"{service}-{name}-{i}", "labels": common["labels"]},
            "spec": spec,
        }
        out.append((native.doc(data, doc.start), V1ALPHA, []))
    return out


def _v1(reader: Reader, name: str, slis: dict[str, Doc]) -> list[Converted]:
    doc = reader.doc
    reader.fields(("spec",), _V1_SLO)
    native = _Native(reader)
    common = _common(reader, native, name)
    window = _v1_window(reader, native)
    indicator = v1_indicator(reader, native, slis)
    if doc.get(("spec", "alertPolicies")):
        reader.warn(
            ("spec", "alertPolicies"),
            "alertPolicies not imported: sloguard alerts with its tiers (spec.alerting.tiers; "
            "the default is the SRE Workbook policy)",
        )
    objectives = doc.get(("spec", "objectives"))
    if not isinstance(objectives, list) or not objectives:
        reader.error(("spec",), "spec.objectives: required, a list of at least one objective")
        return []
    ok = common is not None and window is not None and indicator is not None
    out: list[Converted] = []
    for i in range(len(objectives)):
        path: Path_ = ("spec", "objectives", i)
        reader.fields(path, _V1_OBJECTIVE)
        for key in ("indicator", "indicatorRef"):
            if doc.get((*path, key)) is not None:
                reader.error(
                    (*path, key),
                    f"{key} is not supported (composite SLOs have no sloguard equivalent)",
                )
        inline = doc.get(("spec", "indicator", "spec", "thresholdMetric")) is not None
        threshold = inline or (indicator is not None and "threshold" in indicator)
        target = _objective_target(reader, native, path, allow_op=threshold)
        if indicator is None or common is None:
            continue
        sli = objective_indicator(reader, native, path, common["method"], indicator)
        if target is None or sli is None or not ok:
            continue
        spec = dict(common["spec"])
        spec.update(objective=target, indicator=sli, **(window or {}))
        spec.update(grouped(sli))
        suffix = f"-{i}" if len(objectives) > 1 else ""
        data = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": f"{name}{suffix}", "labels": common["labels"]},
            "spec": spec,
        }
        out.append((native.doc(data, doc.start), V1, []))
    return out


def _v1_window(reader: Reader, native: _Native) -> dict[str, Any] | None:
    """The native period of the one time window: ``window`` (rolling) or ``calendar``."""
    doc = reader.doc
    windows = doc.get(("spec", "timeWindow"))
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        reader.error(("spec", "timeWindow"), "timeWindow: give exactly one time window")
        return None
    path: Path_ = ("spec", "timeWindow", 0)
    if windows[0].get("isRolling") is not True:  # a rolling one's calendar block is moot
        calendar = openslo_calendar(reader, path, windows[0])
        if calendar is not None:
            native.link(("spec", "calendar"), (*path, "calendar"))
            return {"calendar": calendar}
        return None
    duration = windows[0].get("duration")
    match = _SHORTHAND.match(duration) if isinstance(duration, str) else None
    if match is None or match.group(2) not in "dw":
        reader.error(
            (*path, "duration"),
            f"duration {duration!r}: a rolling window is whole days or weeks (e.g. 28d, 4w); "
            "m is minutes; a calendar month is isRolling: false with duration 1M",
        )
        return None
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    native.link(("spec", "window"), (*path, "duration"))
    return {"window": f"{days}d"}
