"""Validate one native-shaped document and build the frozen :class:`SLO` from it.

Schema errors from pydantic are translated into located problems with "did you mean" hints;
then the checks pydantic cannot do alone run: PromQL syntax and the ``{{.window}}`` placeholder,
tier windows against the SLO window, tiers that can never fire, and ``group_by`` against the
queries' aggregations.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import promql_parser
from pydantic import ValidationError

from sloguard.durations import parse_duration
from sloguard.errors import Problem
from sloguard.model import (
    DEFAULT_TIERS,
    SLO,
    IncidentTeam,
    Indicator,
    LatencyIndicator,
    RatioIndicator,
    RawIndicator,
    Runbook,
    Severity,
    StatusComponent,
    Tier,
    TimesliceIndicator,
    render_window,
)
from sloguard.spec._alerting import absent_problems, alert_meta
from sloguard.spec._native import Document, SloSpec, TierSpec, model_at
from sloguard.spec._slices import slice_problems, timeslice_indicator
from sloguard.spec._yaml import Doc, Path_

_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
_TYPE_NAMES = {
    "string_type": "a string",
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def translate(exc: ValidationError, doc: Doc, root: type[Any] = Document) -> list[Problem]:
    """Pydantic's errors as located problems that say what would be valid."""
    problems: list[Problem] = []
    errors = exc.errors(include_url=False)
    suggested: set[Path_] = set()  # a typo's intended field is not also reported missing
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            model = model_at(root, loc[:-1])
            allowed = list(model.model_fields) if model else []
            for match in difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6):
                suggested.add((*loc[:-1], match))
    for err in errors:
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        kind = err["type"]
        if kind == "missing" and loc in suggested:
            continue
        name = doc.display(loc)
        if kind == "extra_forbidden":
            model = model_at(root, loc[:-1])
            allowed = list(model.model_fields) if model else []
            field = str(loc[-1])
            close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "valid: " + ", ".join(allowed)
            where = doc.display(loc[:-1]) or "the document"
            problems.append(
                Problem(doc.key(loc), f"unknown field {field!r} in {where}; {hint}", name)
            )
        elif kind == "missing":
            parent = doc.display(loc[:-1]) or "the document"
            problems.append(
                Problem(doc.key(loc[:-1]), f"{parent}: missing required field {loc[-1]!r}", name)
            )
        elif kind in _TYPE_NAMES:
            got = describe(err.get("input"))
            hint = ""
            if kind == "string_type" and isinstance(err.get("input"), int | float | bool):
                hint = f'; quote it: "{_yaml_text(err.get("input"))}"'
            msg = f"{name}: expected {_TYPE_NAMES[kind]}, got {got}{hint}"
            problems.append(Problem(doc.key(loc), msg, name))
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(doc.key(loc), f"{name}: {msg}" if name else msg, name))
        else:
            problems.append(Problem(doc.key(loc), f"{name}: {err['msg']}", name))
    return problems


def _yaml_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def build(doc: Doc) -> tuple[SLO | None, list[Problem]]:
    """Validate ``doc`` (native shape) and build its SLO; either an SLO or the problems."""
    try:
        parsed = Document.model_validate(doc.data)
    except ValidationError as exc:
        schema = translate(exc, doc)
        return None, schema + _query_problems(doc, schema)
    spec = parsed.spec
    problems: list[Problem] = []
    calendar = spec.calendar.calendar() if spec.calendar is not None else None
    period = calendar.unit.nominal_seconds if calendar else parse_duration(spec.window)
    tiers = _tiers(spec, period, doc, problems)
    indicator = _indicator(spec, doc, problems)
    problems.extend(absent_problems(spec, doc))
    if isinstance(indicator, TimesliceIndicator):
        problems.extend(slice_problems(indicator, tiers, period, doc))
    if spec.min_events and isinstance(indicator, RawIndicator | TimesliceIndicator):
        problems.append(
            Problem(
                doc.key(("spec", "min_events")),
                "min_events needs event counts, which a raw or timeslices indicator does not "
                "have; use a ratio or latency indicator, or drop min_events",
                doc.display(("spec", "min_events")),
            )
        )
    if problems or indicator is None:
        return None, problems
    slo = SLO(
        name=parsed.metadata.name,
        service=spec.service,
        objective_percent=float(spec.objective),
        period_seconds=period,
        indicator=indicator,
        tiers=tiers,
        description=spec.description,
        labels=dict(parsed.metadata.labels),
        owner=dict(spec.owner),
        runbook_url=spec.runbook_url,
        dashboard_url=spec.dashboard_url,
        min_events=float(spec.min_events),
        group_by=tuple(spec.group_by),
        source=doc.start,
        namespace=parsed.metadata.namespace,
        k8s_labels=dict(parsed.metadata.k8s_labels),
        alerts=alert_meta(spec),
        tenant=spec.prometheus.tenant if spec.prometheus is not None else None,
        **_incident_fields(spec),
        calendar=calendar,
    )
    return slo, []


def _incident_fields(spec: SloSpec) -> dict[str, Any]:
    """The runbook, the incident team and the status-page component, as model values."""
    out: dict[str, Any] = {}
    if spec.runbook is not None:
        rb = spec.runbook
        out["runbook"] = Runbook(tuple(rb.diagnostics), tuple(rb.mitigations), tuple(rb.escalation))
    if spec.incident is not None:
        inc = spec.incident
        roles = {k: v for k, v in inc.roles.model_dump().items() if v}
        out["incident"] = IncidentTeam(roles, tuple(inc.invite), inc.bridge_url)
    if spec.status_page is not None:
        out["status_page"] = StatusComponent(spec.status_page.component_id, spec.status_page.name)
    return out


_QUERY_PATHS: tuple[Path_, ...] = (
    ("spec", "indicator", "ratio", "errors"),
    ("spec", "indicator", "ratio", "total"),
    ("spec", "indicator", "raw", "error_ratio"),
    ("spec", "indicator", "timeslices", "ratio", "errors"),
    ("spec", "indicator", "timeslices", "ratio", "total"),
)


def _query_problems(doc: Doc, known: list[Problem]) -> list[Problem]:
    """Query problems of a document whose schema failed, so one run reports them all.

    Not when the indicator's own shape is wrong: which query is meant is then unclear.
    """
    seen = {p.location for p in known}
    indicator = ("spec", "indicator")
    if any(loc in seen for path, loc in doc.keys.items() if path[:2] == indicator):
        return []
    out = []
    for path in _QUERY_PATHS:
        text = doc.get(path)
        if isinstance(text, str) and text.strip() and doc.key(path) not in seen:
            problem = check_query(text, True, doc, path)
            if problem is not None:
                out.append(problem)
    return out


def more_problems(doc: Doc, known: list[Problem]) -> list[Problem]:
    """The problems ``build`` finds in a partly converted document, beyond those ``known``.

    An adapter that found errors still builds what it converted, so fixing one problem does
    not reveal the next; fields it could not convert are missing, which it already reported.
    """
    seen = {p.location for p in known}
    _, problems = build(doc)
    return [
        p for p in problems if p.location not in seen and "missing required field" not in p.message
    ]


def tier_at(ts: TierSpec, i: int, path: Path_, doc: Doc, problems: list[Problem]) -> Tier:
    """Tier ``i`` of a document, written at ``path``: an SLO's own tiers and a backtest
    policy's read alike. A short window not shorter than the long one is a located problem."""
    long_s, short_s = parse_duration(ts.long), parse_duration(ts.short)
    if short_s >= long_s:
        problems.append(
            Problem(
                doc.key((*path, "short")),
                f"tier {i + 1}: short window {ts.short} must be shorter than the long window "
                f"{ts.long} (usually 1/12 of it, e.g. 1h/5m)",
                doc.display((*path, "short")),
            )
        )
    return Tier(Severity.parse(ts.severity), long_s, short_s, float(ts.budget_percent))


def _tiers(spec: SloSpec, period: int, doc: Doc, problems: list[Problem]) -> tuple[Tier, ...]:
    budget = (100.0 - spec.objective) / 100.0
    if spec.alerting is None or spec.alerting.tiers is None:
        # A calendar day keeps the default tiers shorter than a day (its period query is keyed
        # by the nominal length, so a tier may not share it).
        defaults = [t for t in DEFAULT_TIERS if not spec.calendar or t.long_seconds < period]
        tiers: list[tuple[Tier, Path_]] = [(t, ("spec", "objective")) for t in defaults]
    else:
        tiers = []
        for i, ts in enumerate(spec.alerting.tiers):
            path: Path_ = ("spec", "alerting", "tiers", i)
            tier = tier_at(ts, i, path, doc, problems)
            if tier.long_seconds > period or (spec.calendar and tier.long_seconds == period):
                what = f"is longer than the SLO window {spec.window}"
                if spec.calendar:  # the period's own query is keyed by its nominal length
                    what = f"must be shorter than the calendar {spec.calendar.unit}"
                problems.append(
                    Problem(
                        doc.key((*path, "long")),
                        f"tier {i + 1}: long window {ts.long} {what}",
                        doc.display((*path, "long")),
                    )
                )
            tiers.append((tier, path))
    for tier, path in tiers:
        if tier.short_seconds >= tier.long_seconds or tier.long_seconds > period:
            continue
        factor = tier.factor(period)
        if factor * budget >= 1.0 - 1e-12:
            default = spec.alerting is None or spec.alerting.tiers is None
            problems.append(
                Problem(
                    doc.key(path),
                    f"{'default ' if default else ''}tier {tier.severity} ({tier.long}/"
                    f"{tier.short}, {tier.budget_percent:g} % of the budget) can never fire at "
                    f"objective {spec.objective:g} %: it needs a burn rate of {factor:.4g}, an "
                    f"error ratio of {factor * budget * 100:.4g} % (above 100 %); "
                    + (
                        "set spec.alerting.tiers with a lower budget_percent or longer windows"
                        if default
                        else "lower budget_percent or use a longer long window"
                    ),
                    doc.display(path),
                )
            )
    return tuple(t for t, _ in tiers)


def _indicator(spec: SloSpec, doc: Doc, problems: list[Problem]) -> Indicator | None:
    ind = spec.indicator
    base: Path_ = ("spec", "indicator")
    queries: list[tuple[Path_, str, bool]] = []  # (path, text, needs the placeholder)
    result: Indicator
    if ind.ratio is not None:
        result = RatioIndicator(ind.ratio.errors, ind.ratio.total)
        queries = [
            ((*base, "ratio", "errors"), ind.ratio.errors, True),
            ((*base, "ratio", "total"), ind.ratio.total, True),
        ]
    elif ind.latency is not None:
        lat = ind.latency
        result = LatencyIndicator(lat.histogram, float(lat.threshold_seconds), lat.selector)
        queries = [((*base, "latency", "selector"), result.errors, False)]
    elif ind.timeslices is not None:
        result, queries = timeslice_indicator(ind.timeslices, base)
    else:
        assert ind.raw is not None  # the schema guarantees exactly one
        result = RawIndicator(ind.raw.error_ratio)
        queries = [((*base, "raw", "error_ratio"), ind.raw.error_ratio, True)]
    before = len(problems)
    for path, text, needs in queries:
        problem = check_query(text, needs, doc, path)
        if problem is not None:
            problems.append(problem)
            continue
        if spec.group_by and needs and len(problems) == before:
            problem = _check_group_by(text, spec.group_by, doc, path)
            if problem is not None:
                problems.append(problem)  # once: the other query most likely does the same
    return result if len(problems) == before else None


def check_query(text: str, needs_placeholder: bool, doc: Doc, path: Path_) -> Problem | None:
    """One located problem if ``text`` lacks ``{{.window}}`` or is not valid PromQL."""
    name = doc.display(path)
    if needs_placeholder and not _PLACEHOLDER.search(text):
        return Problem(
            doc.key(path),
            f"{name}: no {{{{.window}}}} placeholder; sloguard puts each alert window (5m, 1h, "
            "...) there, e.g. sum(rate(http_requests_total[{{.window}}]))",
            name,
        )
    rendered = render_window(text, "5m")
    if "{{" in rendered:
        return Problem(
            doc.key(path),
            f"{name}: unknown template placeholder; only {{{{.window}}}} is supported",
            name,
        )
    try:
        promql_parser.parse(rendered)
    except (ValueError, TypeError) as exc:
        detail = " ".join(str(exc).split())
        return Problem(doc.key(path), f"{name}: not valid PromQL: {detail}", name)
    return None


def _check_group_by(text: str, labels: list[str], doc: Doc, path: Path_) -> Problem | None:
    expr = promql_parser.parse(render_window(text, "5m"))
    dropped = _dropped(expr, labels)
    if not dropped:
        return None
    name = doc.display(path)
    keep = ", ".join(labels)
    return Problem(
        doc.key(path),
        f"{name}: the aggregation drops group_by label(s) {', '.join(sorted(dropped))}; "
        f"aggregate with 'sum by ({keep}) (...)' so each group gets its own SLO",
        name,
    )


def query_grouping(*queries: str) -> list[str]:
    """The labels every query aggregates ``by`` (e.g. Sloth's ``sum(...) by (host)``), or [].

    An importer sets these as ``group_by`` so each group is its own SLO; queries that group
    differently, or not at all, give [] (validate then checks them as one series).
    """
    found: list[tuple[str, ...] | None] = []
    for text in queries:
        try:
            found.append(_grouping(promql_parser.parse(render_window(text, "5m"))))
        except (ValueError, TypeError):
            return []  # not PromQL: build reports it
    first = found[0] if found else None
    if not first or any(g is None or set(g) != set(first) for g in found):
        return []
    return list(first)


def _grouping(expr: Any) -> tuple[str, ...] | None:
    """The ``by`` labels of the outermost aggregation; () when it has none; None when mixed."""
    if isinstance(expr, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return _grouping(expr.expr)
    if isinstance(expr, promql_parser.BinaryExpr):
        if isinstance(expr.lhs, promql_parser.NumberLiteral):
            return _grouping(expr.rhs)
        if isinstance(expr.rhs, promql_parser.NumberLiteral):
            return _grouping(expr.lhs)
        lhs, rhs = _grouping(expr.lhs), _grouping(expr.rhs)
        return lhs if lhs is not None and rhs is not None and set(lhs) == set(rhs) else None
    mod = getattr(expr, "modifier", None) if isinstance(expr, promql_parser.AggregateExpr) else None
    return tuple(mod.labels) if mod is not None and str(mod).lower().startswith("by") else ()


def _dropped(expr: Any, labels: list[str]) -> set[str]:
    """Labels of ``group_by`` that the outermost aggregations of ``expr`` throw away."""
    if isinstance(expr, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return _dropped(expr.expr, labels)
    if isinstance(expr, promql_parser.BinaryExpr):
        return _dropped(expr.lhs, labels) | _dropped(expr.rhs, labels)
    if isinstance(expr, promql_parser.AggregateExpr):
        mod = expr.modifier
        if mod is None:
            return set(labels)
        kept = set(mod.labels)
        if "without" in str(mod).split("(")[0].lower():
            return set(labels) & kept
        return set(labels) - kept
    return set()
