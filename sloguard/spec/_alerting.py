"""An SLO's alert metadata: the generated alerts' name, labels and annotations, the page and
ticket labels routes match, and absent alerts (``spec.alerting`` beside the tiers). Pure."""

from __future__ import annotations

import promql_parser

from sloguard.durations import parse_duration
from sloguard.errors import Problem
from sloguard.model import AbsentAlert, AlertMeta
from sloguard.spec._native import AlertMetaSpec, SloSpec
from sloguard.spec._yaml import Doc, Path_


def alert_meta(spec: SloSpec) -> AlertMeta:
    """The alerts' name, labels, annotations and absent alert, as model values."""
    alerting = spec.alerting
    if alerting is None:
        return AlertMeta()
    page = alerting.page or AlertMetaSpec()
    ticket = alerting.ticket or AlertMetaSpec()
    absent = None
    if alerting.absent is not None:
        a = alerting.absent
        absent = AbsentAlert(tuple(a.selectors), parse_duration(a.for_), a.name, dict(a.labels))
    return AlertMeta(
        name=alerting.name,
        labels=dict(alerting.labels),
        annotations=dict(alerting.annotations),
        page_labels=dict(page.labels),
        page_annotations=dict(page.annotations),
        ticket_labels=dict(ticket.labels),
        ticket_annotations=dict(ticket.annotations),
        absent=absent,
    )


def absent_problems(spec: SloSpec, doc: Doc) -> list[Problem]:
    """Each absent selector must be one series selector, as ``absent()`` takes."""
    if spec.alerting is None or spec.alerting.absent is None:
        return []
    out = []
    for i, text in enumerate(spec.alerting.absent.selectors):
        path: Path_ = ("spec", "alerting", "absent", "selectors", i)
        try:
            ok = isinstance(promql_parser.parse(text), promql_parser.VectorSelector)
        except (ValueError, TypeError):
            ok = False
        if not ok:
            name = doc.display(path)
            out.append(
                Problem(
                    doc.key(path),
                    f"{name}: {text!r} is not a series selector; absent() takes one, "
                    'e.g. http_requests_total{job="api"}',
                    name,
                )
            )
    return out
