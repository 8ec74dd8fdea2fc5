"""Sloth specs, ``version: prometheus/v1`` and the ``sloth.slok.dev/v1 PrometheusServiceLevel``
CRD, converted into native documents, one per SLO.

Mapping (see docs/spec.md, "Importing from Sloth"):

    service + "-" + slos[].name      metadata.name (Sloth's SLO ID, unique as Sloth requires)
    labels + slos[].labels           metadata.labels
    CRD metadata.namespace / labels  metadata.namespace / metadata.k8s_labels (PrometheusRule)
    slos[].objective / description   spec.objective / spec.description; spec.window is 30d
    sli.events.error/total_query     spec.indicator.ratio.errors / .total
    sli.raw.error_ratio_query        spec.indicator.raw.error_ratio
    `sum(...) by (l)` in every query spec.group_by: [l] (one SLO per group)
    alerting.page_alert              tiers SEV1 (1h/5m, 2 %) and SEV2 (6h/30m, 5 %)
    alerting.ticket_alert            tiers SEV3 (1d/2h, 10 %) and SEV3 (3d/6h, 10 %)
    annotations.runbook/dashboard    spec.runbook_url / spec.dashboard_url when they are URLs
                                     (page_alert's, else alerting's, else ticket_alert's)
    alerting.name/labels/annotations spec.alerting.name / labels / annotations
    page_alert/ticket_alert labels,  spec.alerting.page / .ticket (labels, annotations): on the
      annotations                    generated alerts; routes match the labels per severity
    page/ticket_alert.disable        that alert's tiers are left out: it never notifies

Sloth's window tiers (google-30d/google-28d) are the same as sloguard's default tiers, scaled
by the SLO window the same way. Sloth plugins (SLI plugins and SLO plugin chains) run Go code
and are rejected with a located error.
"""

from __future__ import annotations

from typing import Any

from sloguard.errors import Location, Problem
from sloguard.model import DEFAULT_TIERS, Severity
from sloguard.spec._build import more_problems, query_grouping
from sloguard.spec._native import API_VERSION, KIND
from sloguard.spec._reader import Reader as _Reader
from sloguard.spec._yaml import Doc, Path_

PROM_VERSION = "prometheus/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"
SLOTH_WINDOW = "30d"  # Sloth's default SLO period

Converted = tuple[Doc, str, list[Problem]]

_TOP = ("version", "service", "labels", "slos", "slo_plugins")
_K8S_TOP = ("apiVersion", "kind", "metadata", "spec")
_K8S_SPEC = ("service", "labels", "slos", "slo_plugins")
_SLO = ("name", "objective", "description", "labels", "sli", "alerting", "plugins")
_SLI = ("events", "raw", "plugin")
_EVENTS = ("error_query", "total_query")
_RAW = ("error_ratio_query",)
_ALERTING = ("name", "labels", "annotations", "page_alert", "ticket_alert")
_ALERT = ("disable", "labels", "annotations")
_PAGE = (Severity.SEV1, Severity.SEV2)
_URL_ANNOTATIONS = {
    "runbook": "runbook_url",
    "runbook_url": "runbook_url",
    "dashboard": "dashboard_url",
    "dashboard_url": "dashboard_url",
}


def convert_prometheus(doc: Doc) -> tuple[list[Converted], list[Problem], list[Problem]]:
    """A ``version: prometheus/v1`` document: one native document per SLO."""
    version = doc.data.get("version")
    if version != PROM_VERSION:
        problem = Problem(
            doc.key(("version",)),
            f"unknown Sloth version {version!r}; sloguard reads version: {PROM_VERSION}",
            "version",
        )
        return [], [problem], []
    reader = _Reader(doc)
    top = reader.fields((), _TOP)
    converted = _convert_service(reader, (), top, PROM_VERSION)
    return converted, reader.problems, reader.warnings


def convert_k8s(doc: Doc) -> tuple[list[Converted], list[Problem], list[Problem]]:
    """A ``sloth.slok.dev/v1`` document: PrometheusServiceLevel SLOs; AlertWindows are noted."""
    reader = _Reader(doc)
    kind = doc.data.get("kind")
    if kind == "AlertWindows":
        reader.warn(
            ("kind",),
            "Sloth AlertWindows are not read: sloguard sets alert windows per SLO in "
            "spec.alerting.tiers (the default tiers equal Sloth's google-30d/google-28d)",
        )
        return [], [], reader.warnings
    if kind != "PrometheusServiceLevel":
        reader.error(
            ("kind",),
            f"kind {kind!r} of {K8S_API_VERSION} is not supported; "
            "sloguard reads PrometheusServiceLevel (and skips AlertWindows)",
        )
        return [], reader.problems, []
    reader.fields((), _K8S_TOP)
    spec = reader.fields(("spec",), _K8S_SPEC)
    if not spec:
        reader.error(
            ("spec",), "spec: missing; a PrometheusServiceLevel needs spec.service and spec.slos"
        )
        return [], reader.problems, []
    converted = _convert_service(reader, ("spec",), spec, K8S_API_VERSION)
    for native, _, _ in converted:
        _k8s_metadata(doc, native)
    return converted, reader.problems, reader.warnings


def _k8s_metadata(doc: Doc, native: Doc) -> None:
    """The CRD's namespace and object labels, for the PrometheusRule generated from it."""
    for source, target in (("namespace", "namespace"), ("labels", "k8s_labels")):
        value = doc.get(("metadata", source))
        if isinstance(value, dict):
            value = {k: _as_label(v) for k, v in value.items()}
        if value is not None:
            native.data["metadata"][target] = value
            native.keys[("metadata", target)] = doc.key(("metadata", source))
            native.names[("metadata", target)] = f"metadata.{source}"


def _convert_service(
    reader: _Reader, base: Path_, top: dict[str, Path_], origin: str
) -> list[Converted]:
    doc = reader.doc
    if "slo_plugins" in top:
        reader.error(
            top["slo_plugins"],
            "Sloth SLO plugins are not supported: they run Go code inside Sloth; "
            "remove the plugin chain (sloguard computes burn rates itself)",
        )
    service = doc.get((*base, "service"))
    if not isinstance(service, str) or not service:
        reader.error(
            top.get("service", base),
            f"{reader.name((*base, 'service')) or 'service'}: required, a non-empty name "
            "(e.g. checkout)",
        )
        return []
    labels = doc.get((*base, "labels"), {})
    slos = doc.get((*base, "slos"))
    if not isinstance(slos, list) or not slos:
        reader.error(top.get("slos", base), "slos: required, a list of at least one SLO")
        return []
    out = []
    for i in range(len(slos)):
        converted = _convert_slo(reader, base, (*base, "slos", i), service, labels, origin)
        if converted is not None:
            out.append(converted)
    return out


def _convert_slo(
    reader: _Reader,
    base: Path_,
    path: Path_,
    service: str,
    service_labels: Any,
    origin: str,
) -> Converted | None:
    doc = reader.doc
    before = len(reader.problems)
    warnings_before = len(reader.warnings)
    fields = reader.fields(path, _SLO)
    keys: dict[Path_, Location] = {(): doc.value(path)}
    names: dict[Path_, str] = {}

    def link(native: Path_, source: Path_) -> None:
        keys[native] = doc.key(source)
        names[native] = reader.name(source)

    if "plugins" in fields:
        reader.error(
            fields["plugins"],
            "Sloth SLO plugins are not supported: they run Go code inside Sloth; "
            "remove the plugin chain",
        )
    raw_name = doc.get((*path, "name"))
    name = f"{service}-{raw_name}" if isinstance(raw_name, str) and raw_name else raw_name
    link(("metadata", "name"), fields.get("name", path))
    if raw_name is None:
        reader.error(path, f"{reader.name(path)}: missing required field 'name'")
    labels: Any = {}
    for source_labels, source_path in (
        (service_labels, (*base, "labels")),
        (doc.get((*path, "labels"), {}), (*path, "labels")),
    ):
        if isinstance(source_labels, dict) and isinstance(labels, dict):
            # Sloth (Go YAML) reads scalar label values as strings: `tier: 2` is "2".
            labels = {**labels, **{k: _as_label(v) for k, v in source_labels.items()}}
            for k in source_labels:
                link(("metadata", "labels", k), (*source_path, k))
        elif source_labels is not None:
            labels = source_labels
            link(("metadata", "labels"), source_path)
    spec: dict[str, Any] = {"service": service}
    link(("spec", "service"), (*base, "service"))
    keys[("spec", "window")] = doc.value(path)
    if "objective" in fields:
        spec["objective"] = doc.get(fields["objective"])
        link(("spec", "objective"), fields["objective"])
    if "description" in fields:
        spec["description"] = doc.get(fields["description"])
        link(("spec", "description"), fields["description"])
    spec["window"] = SLOTH_WINDOW
    indicator = _indicator(reader, path, fields, link)
    if indicator is not None:
        spec["indicator"] = indicator
        kind = next(iter(indicator))
        group_by = query_grouping(*indicator[kind].values())
        if group_by:  # Sloth's `sum(...) by (host)`: one SLO per host, as its rules compute
            spec["group_by"] = group_by
            keys[("spec", "group_by")] = keys[("spec", "indicator")]
    _alerting(reader, path, fields, spec, link)
    data = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
    native = Doc(doc.file, data, doc.value(path), keys, {}, names)
    if len(reader.problems) > before:
        reader.problems.extend(more_problems(native, reader.problems[before:]))
        return None
    return native, origin, reader.warnings[warnings_before:]


def _as_label(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value


def _indicator(reader: _Reader, path: Path_, fields: dict[str, Path_], link: Any) -> Any:
    doc = reader.doc
    if "sli" not in fields:
        reader.error(path, f"{reader.name(path)}: missing required field 'sli'")
        return None
    sli_path = fields["sli"]
    link(("spec", "indicator"), sli_path)
    sli = reader.fields(sli_path, _SLI)
    if "plugin" in sli:
        plugin_id = doc.get((*sli["plugin"], "id"))
        reader.error(
            sli["plugin"],
            f"Sloth SLI plugin {plugin_id!r} is not supported: plugins are Go code that "
            "sloguard cannot run; write the queries as sli.events or sli.raw",
        )
        return None
    kinds = [k for k in ("events", "raw") if k in sli]
    if len(kinds) != 1:
        what = "is empty" if not kinds else "has both 'events' and 'raw'"
        reader.error(sli_path, f"{reader.name(sli_path)} {what}; give exactly one of events, raw")
        return None
    if kinds == ["events"]:
        ev = reader.fields(sli["events"], _EVENTS)
        out: dict[str, Any] = {}
        for source, native in (("error_query", "errors"), ("total_query", "total")):
            if source not in ev:
                reader.error(
                    sli["events"],
                    f"{reader.name(sli['events'])}: missing required field {source!r}",
                )
                continue
            out[native] = doc.get(ev[source])
            link(("spec", "indicator", "ratio", native), ev[source])
        return {"ratio": out}
    raw = reader.fields(sli["raw"], _RAW)
    if "error_ratio_query" not in raw:
        reader.error(
            sli["raw"], f"{reader.name(sli['raw'])}: missing required field 'error_ratio_query'"
        )
        return None
    link(("spec", "indicator", "raw", "error_ratio"), raw["error_ratio_query"])
    return {"raw": {"error_ratio": doc.get(raw["error_ratio_query"])}}


def _alerting(
    reader: _Reader, path: Path_, fields: dict[str, Path_], spec: dict[str, Any], link: Any
) -> None:
    doc = reader.doc
    if "alerting" not in fields:
        return  # Sloth's default: page and ticket alerts on, i.e. sloguard's default tiers
    apath = fields["alerting"]
    alerting = reader.fields(apath, _ALERTING)
    out: dict[str, Any] = {}
    enabled: dict[str, bool] = {}
    annotation_paths: dict[str, Path_] = {}
    for kind, native in (("page_alert", "page"), ("ticket_alert", "ticket")):
        sub = reader.fields(alerting[kind], _ALERT) if kind in alerting else {}
        disable = doc.get(sub["disable"]) if "disable" in sub else False
        if not isinstance(disable, bool):
            reader.error(sub["disable"], f"{reader.name(sub['disable'])}: expected true or false")
            disable = False
        enabled[kind] = not disable
        if disable:
            continue  # its tiers are gone: nothing left to label
        meta = _meta(reader, sub, ("spec", "alerting", native), link)
        if meta:
            out[native] = meta
        if "annotations" in sub:
            annotation_paths[kind] = sub["annotations"]
    alert_name = doc.get(alerting["name"]) if "name" in alerting else None
    if any(enabled.values()):
        if not isinstance(alert_name, str) or not alert_name:
            reader.error(
                alerting.get("name", apath),
                f"{reader.name(alerting.get('name', apath))}: an alert name is required when "
                "page or ticket alerts are enabled (Sloth names its alerts with it)",
            )
        else:  # the generated rules' name, as Sloth names both its alerts
            out["name"] = alert_name
            link(("spec", "alerting", "name"), alerting["name"])
    out.update(_meta(reader, alerting, ("spec", "alerting"), link))
    if "annotations" in alerting:
        annotation_paths["alerting"] = alerting["annotations"]
    # The page's runbook is what on-call opens first, so it wins over the shared and the ticket's.
    for kind in ("page_alert", "alerting", "ticket_alert"):
        if kind in annotation_paths:
            _annotations(reader, annotation_paths[kind], spec, link)
    if not (enabled.get("page_alert", True) and enabled.get("ticket_alert", True)):
        out["tiers"] = _tiers(alerting, apath, enabled, link)
    if out:
        order = ("name", "labels", "annotations", "page", "ticket", "tiers")
        spec["alerting"] = {k: out[k] for k in order if k in out}
        link(("spec", "alerting"), apath)


def _meta(reader: _Reader, sub: dict[str, Path_], native: Path_, link: Any) -> dict[str, Any]:
    """An alert's labels and annotations, carried as they are (scalars as Sloth's strings)."""
    out: dict[str, Any] = {}
    for key in ("labels", "annotations"):
        value = reader.doc.get(sub[key]) if key in sub else None
        if isinstance(value, dict) and value:
            out[key] = {k: _as_label(v) for k, v in value.items()}
            for k in value:
                link((*native, key, k), (*sub[key], k))
        elif value is not None and not isinstance(value, dict):
            out[key] = value  # the schema reports it, located
            link((*native, key), sub[key])
    return out


def _tiers(
    alerting: dict[str, Path_], apath: Path_, enabled: dict[str, bool], link: Any
) -> list[dict[str, Any]]:
    """The default tiers of the alerts left enabled (a disabled alert's tiers never notify)."""
    tiers = [
        {
            "severity": str(t.severity),
            "long": t.long,
            "short": t.short,
            "budget_percent": t.budget_percent,
        }
        for t in DEFAULT_TIERS
        if enabled["page_alert" if t.severity in _PAGE else "ticket_alert"]
    ]
    for i, tier in enumerate(tiers):
        kind = "page_alert" if Severity.parse(str(tier["severity"])) in _PAGE else "ticket_alert"
        link(("spec", "alerting", "tiers", i), alerting.get(kind, apath))
    return tiers


def _annotations(reader: _Reader, path: Path_, spec: dict[str, Any], link: Any) -> None:
    """Runbook and dashboard URLs become the SLO's (the alerts keep the annotation too)."""
    annotations = reader.doc.get(path)
    if not isinstance(annotations, dict):
        return
    for key, value in annotations.items():
        target = _URL_ANNOTATIONS.get(str(key).lower())
        key_path = (*path, key)
        is_url = isinstance(value, str) and value.startswith(("http://", "https://"))
        if target and is_url and target not in spec:
            spec[target] = value
            link(("spec", target), key_path)
        elif target and is_url and spec[target] != value:
            reader.warn(
                key_path,
                f"annotation {key!r} ({value}) is not the SLO's {target}: that is "
                f"{spec[target]} (the page alert's, else the shared alerting annotations'); "
                "this alert's rules keep the annotation",
            )
