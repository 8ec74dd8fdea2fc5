"""The public status page, on its own listener: components, 90 daily bars, incident history,
and ``/api/v2/summary.json`` / ``/api/v2/status.json`` in Atlassian Statuspage's public shape.

Nothing internal is shown here: a component is the ``status_page.name`` of its SLOs' specs
(the service for SLOs without one), an incident is an episode of one of its SLOs under an
opaque id, and the messages are fixed public sentences. No SLO name, label, PromQL, burn rate
or notifier appears. A day's bar is the worst status an episode caused that day; on a day
without one, it says whether the day's error ratio in Prometheus stayed within the objective
(:mod:`.daily`), or that there was no data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from sloguard.durations import iso_time
from sloguard.model import SLO
from sloguard.records import EpisodeRecord
from sloguard.server._guard import Guard
from sloguard.server._templates import CSS, environment
from sloguard.server.daily import DailyRatios, Verdicts, day_start
from sloguard.server.routes import json_response, no_favicon
from sloguard.server.ui import UiData

DAYS = 90
_DAY = 86400
RANK = ("operational", "degraded_performance", "partial_outage", "major_outage")
INDICATOR = {
    "operational": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
WORDS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "missed_objective": "More errors than the objective allows",
    "no_data": "No data",
}


def opaque_id(text: str) -> str:
    """A stable public id that does not reveal the internal name it stands for."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _worst(statuses: Sequence[str]) -> str:
    return max(statuses, key=RANK.index, default="operational")


@dataclass(frozen=True, slots=True)
class PublicIncident:
    id: str
    component: str
    status: str  # the component status it caused at its worst (its peak)
    current: str  # the component status it causes now (operational once it is resolved)
    started_at: float
    resolved_at: float | None


@dataclass(frozen=True, slots=True)
class Component:
    id: str
    name: str
    status: str
    # Each of the last DAYS days, oldest first: the worst status an episode caused, else
    # "missed_objective" or "operational" from the day's error ratio, or "no_data".
    days: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Board:
    """Everything the public page shows, computed from evaluations and episodes."""

    components: tuple[Component, ...]
    incidents: tuple[PublicIncident, ...]  # newest first
    day_starts: tuple[float, ...] = ()  # midnight UTC of each day of the bars, oldest first

    @property
    def indicator(self) -> str:
        return INDICATOR[_worst([c.status for c in self.components])]


def component_name(slo: SLO) -> str:
    """The public component an SLO belongs to: its spec's ``status_page.name``, else its
    service."""
    return slo.status_page.name if slo.status_page is not None else slo.service


def board(
    data: UiData,
    now: float,
    severity_status: Mapping[str, str],
    days: int = DAYS,
    verdicts: Mapping[str, Verdicts] | None = None,
) -> Board:
    """The components with their status now and per day, and the incidents. With
    ``verdicts`` (each SLO's days from Prometheus, by SLO name) a day without an episode says
    whether its error ratio met the objective; without, such a day is operational."""
    evaluations, slos = data.evaluations()
    component_of = {key: component_name(slo) for key, slo in slos.items()}
    for ev in evaluations:
        component_of.setdefault(ev.slo, "")
    names = sorted({name for name in component_of.values() if name})
    incidents = [
        _incident(e, component_of[e.slo], severity_status)
        for e in data.episodes()
        if component_of.get(e.slo)
    ]
    today = day_start(now)
    starts = tuple(today - (days - 1 - i) * _DAY for i in range(days))
    components = []
    for name in names:
        mine = [i for i in incidents if i.component == name]
        status = _worst([i.current for i in mine])
        slo_names = {slo.name for key, slo in slos.items() if component_of[key] == name}
        daily = tuple(
            _day(
                _worst([i.status for i in mine if _overlaps(i, start, start + _DAY, now)]),
                None if verdicts is None or start == today else _missed(verdicts, slo_names, start),
            )
            for start in starts
        )
        components.append(Component(opaque_id(name), name, status, daily))
    incidents.sort(key=lambda i: i.started_at, reverse=True)
    return Board(tuple(components), tuple(incidents), starts)


def _missed(
    verdicts: Mapping[str, Verdicts], slo_names: set[str], start: float
) -> list[bool] | None:
    """The verdicts of a component's SLOs on the day starting at ``start`` (those with data);
    None when Prometheus answered for none of them (the bar is the episodes' alone)."""
    asked = [verdicts[n] for n in slo_names if n in verdicts]
    if not asked:
        return None
    found = (v.missed.get(start) for v in asked)
    return [v for v in found if v is not None]


def _day(episodes: str, missed: list[bool] | None) -> str:
    """One bar: an episode's status wins; else the day's error ratio, when asked for."""
    if episodes != "operational" or missed is None:
        return episodes
    if not missed:
        return "no_data"
    return "missed_objective" if any(missed) else "operational"


def _incident(e: EpisodeRecord, component: str, mapping: Mapping[str, str]) -> PublicIncident:
    now = e.transitions[-1].severity if e.transitions and e.resolved_at is None else ""
    return PublicIncident(
        opaque_id(e.id),
        component,
        mapping.get(e.peak, "degraded_performance"),
        mapping.get(now, "operational"),
        e.declared_at,
        e.resolved_at,
    )


def _overlaps(i: PublicIncident, start: float, end: float, now: float) -> bool:
    finished = now if i.resolved_at is None else i.resolved_at
    return i.started_at < end and finished >= start


def incident_name(i: PublicIncident) -> str:
    return f"{WORDS[i.status]} of {i.component}"


def incident_updates(i: PublicIncident) -> list[tuple[str, float, str]]:
    """(status, at, public message), newest first."""
    updates = [("investigating", i.started_at, f"We are seeing elevated errors on {i.component}.")]
    if i.resolved_at is not None:
        message = f"{i.component} is operating normally again."
        updates.insert(0, ("resolved", i.resolved_at, message))
    return updates


def summary_json(
    b: Board, title: str, now: float, *, status_only: bool = False
) -> dict[str, object]:
    """Statuspage's ``/api/v2/summary.json`` (or ``status.json``: page and status only)."""
    page = {
        "id": opaque_id(title),
        "name": title,
        "url": "",
        "time_zone": "Etc/UTC",
        "updated_at": iso_time(now),
    }
    status = {"indicator": b.indicator, "description": DESCRIPTION[b.indicator]}
    if status_only:
        return {"page": page, "status": status}
    components = [
        {
            "id": c.id,
            "name": c.name,
            "status": c.status,
            "created_at": iso_time(now),
            "updated_at": iso_time(now),
            "position": n + 1,
            "description": None,
            "showcase": True,
            "start_date": None,
            "group_id": None,
            "page_id": page["id"],
            "group": False,
            "only_show_if_degraded": False,
        }
        for n, c in enumerate(b.components)
    ]
    return {
        "page": page,
        "components": components,
        "incidents": [_incident_json(i, page["id"]) for i in b.incidents if i.resolved_at is None],
        "scheduled_maintenances": [],
        "status": status,
    }


def _incident_json(i: PublicIncident, page_id: str) -> dict[str, object]:
    updates = incident_updates(i)
    last = iso_time(updates[0][1])
    return {
        "id": i.id,
        "name": incident_name(i),
        "status": updates[0][0],
        "created_at": iso_time(i.started_at),
        "updated_at": last,
        "monitoring_at": None,
        "resolved_at": None if i.resolved_at is None else iso_time(i.resolved_at),
        "impact": INDICATOR[i.status],
        "shortlink": "",
        "started_at": iso_time(i.started_at),
        "page_id": page_id,
        "components": [],
        "incident_updates": [
            {
                "id": opaque_id(f"{i.id}/{status}"),
                "status": status,
                "body": body,
                "incident_id": i.id,
                "created_at": iso_time(at),
                "updated_at": iso_time(at),
                "display_at": iso_time(at),
                "affected_components": None,
            }
            for status, at, body in updates
        ],
    }


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title>
<link rel="stylesheet" href="/status.css"></head><body><header>{{ title }}</header><main>
<p id="overall" class="banner {{ indicator }}">{{ description }}</p>
{% for c in b.components %}<section class="component"><h2>{{ c.name }}
<span class="state {{ c.status }}">{{ words[c.status] }}</span></h2>
<svg class="days" role="img" aria-label="last {{ c.days | length }} days"
 width="{{ c.days | length * 6 }}" height="30">{% for d in c.days %}
<rect class="{{ d }}" x="{{ loop.index0 * 6 }}" y="0" width="4" height="30">
<title>{{ day(b.day_starts[loop.index0]) }}: {{ words[d] }}</title></rect>{% endfor %}
</svg></section>{% endfor %}
<p class="key">Each bar is a day (UTC), oldest left:
{% for k in keys %}<span class="swatch {{ k }}">&#9632;</span> {{ words[k] }}
{%- if not loop.last %}, {% endif %}{% endfor %}.
A bar with an outage or degraded performance is an incident;
the others compare that day's errors with the objective.</p>
<h2>Incident history</h2>{% for i in b.incidents %}<article class="incident"><h3>{{ name(i) }}</h3>
{% for status, at, body in updates(i) %}
<p><b>{{ status }}</b> {{ when(at) }}: {{ body }}</p>{% endfor %}
</article>{% else %}<p>No incidents.</p>{% endfor %}</main></body></html>
"""

_CSS = CSS + (
    ".banner{padding:1em;color:#fff;font-size:1.3em}.banner.none{background:#1e8e3e}"
    ".banner.minor{background:#f9ab00}.banner.major{background:#e8710a}"
    ".banner.critical{background:#b3261e}.operational{fill:#1e8e3e;color:#1e8e3e}"
    ".degraded_performance{fill:#f9ab00;color:#b06000}.partial_outage{fill:#e8710a;color:#e8710a}"
    ".major_outage{fill:#b3261e;color:#b3261e}.state{font-size:.7em;margin-left:1em}"
    ".missed_objective{fill:#8e24aa;color:#8e24aa}.no_data{fill:#dadce0;color:#9aa0a6}"
    ".key{color:#5f6368}.swatch{font-size:1.2em}"
)
KEYS = (
    "operational",
    "missed_objective",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "no_data",
)


def _date(at: float) -> str:
    return iso_time(at)[:10]


def build_status_app(
    data: UiData,
    *,
    title: str,
    severity_status: Mapping[str, str],
    now: Callable[[], float],
    daily: DailyRatios | None = None,
) -> Starlette:
    """The status page's ASGI app (read-only, same guard and headers as the daemon port).
    With ``daily``, the bars of days without an episode come from Prometheus."""
    env = environment()
    template = env.from_string(_PAGE)

    async def page(_: Request) -> Response:
        at = now()
        verdicts = None
        if daily is not None:
            verdicts = await daily.verdicts(data.evaluations()[1].values(), at)
        b = board(data, at, severity_status, verdicts=verdicts)
        html = template.render(
            title=title,
            b=b,
            indicator=b.indicator,
            description=DESCRIPTION[b.indicator],
            words=WORDS,
            name=incident_name,
            updates=incident_updates,
            when=iso_time,
            day=_date,
            keys=KEYS,
        )
        return HTMLResponse(html)

    async def css(_: Request) -> Response:
        return Response(_CSS, media_type="text/css")

    async def summary(_: Request) -> Response:
        at = now()
        return json_response(summary_json(board(data, at, severity_status), title, at))

    async def status(_: Request) -> Response:
        at = now()
        b = board(data, at, severity_status)
        return json_response(summary_json(b, title, at, status_only=True))

    app = Starlette(
        routes=[
            Route("/", page),
            Route("/status.css", css),
            Route("/favicon.ico", no_favicon),
            Route("/api/v2/summary.json", summary),
            Route("/api/v2/status.json", status),
        ]
    )
    app.add_middleware(Guard)
    return app


__all__ = ["Board", "board", "build_status_app", "component_name", "summary_json"]
