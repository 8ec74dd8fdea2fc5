"""The web UI on the daemon's port: the SLO list, one SLO, the incidents and one incident.

Server-rendered HTML (Jinja2, autoescaped) and SVG; no script, no CDN. Every page reads
what the last tick showed and the store's episode records through :class:`UiData`, and
changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sloguard.burn import Evaluation
from sloguard.charts import Chart, TierLines, chart
from sloguard.durations import format_duration
from sloguard.errors import SloguardError
from sloguard.model import SLO, Severity
from sloguard.postmortem import SloFacts, render
from sloguard.records import EpisodeRecord
from sloguard.server import pages
from sloguard.server._templates import CSS, environment
from sloguard.server.graphs import BurnHistory, History

RECENT_EPISODES = 50


def _state(status: str, attempts: int) -> str:
    """The outbox status as a person reads it: a pending row already tried is retrying."""
    if status == "pending":
        return "retrying" if attempts else "queued"
    return {"dead": "dead-lettered"}.get(status, status)


class UiData(Protocol):
    """What the UI reads: the last tick's evaluations and the store's episodes."""

    def evaluations(self) -> tuple[Sequence[Evaluation], Mapping[str, SLO]]: ...

    def episodes(self) -> list[EpisodeRecord]: ...

    def episode(self, episode_id: str) -> EpisodeRecord | None: ...


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g} %"


def _ratio(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "unknown"
    return f"{value * 100:.1f} %"


def _rate(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "no data"
    return f"{value:.2f}"


def _when(at: float | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _budget_chart(h: History | None) -> Chart | None:
    """The budget left over the whole period, against zero (spent)."""
    if h is None:
        return None
    return chart([h.budget], [0.0], start=h.budget_from, end=h.until)


def _tier_charts(h: History | None) -> list[tuple[TierLines, Chart | None]]:
    """Each tier with its two windows drawn against its threshold."""
    if h is None:
        return []
    return [
        (t, chart([t.long, t.short], [t.threshold], start=h.burn_from, end=h.until))
        for t in h.tiers
    ]


class Ui:
    """The UI's handlers over one :class:`UiData`."""

    def __init__(self, data: UiData, history: BurnHistory | None = None) -> None:
        self._data = data
        self._history = history
        self._env = environment()
        self._env.globals.update(
            pct=_pct, ratio=_ratio, rate=_rate, when=_when, dur=format_duration
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.slo_list),
            Route("/ui.css", self.css),
            Route("/slos/{key:path}", self.slo_detail),
            Route("/incidents", self.incidents),
            Route("/incidents/{episode_id:path}", self.incident),
        ]

    def _html(self, template: str, status: int = 200, **values: Any) -> Response:
        return HTMLResponse(self._env.get_template(template).render(**values), status_code=status)

    async def css(self, _: Request) -> Response:
        return Response(CSS, media_type="text/css")

    async def slo_list(self, request: Request) -> Response:
        evaluations, slos = self._data.evaluations()
        filters = pages.Filters.from_query(request.query_params)
        rows, total = pages.page_of(evaluations, slos, filters)
        page_count = max(1, math.ceil(total / pages.PAGE_SIZE))

        def query(page: int) -> str:
            params = {
                "q": filters.text,
                "severity": filters.severity,
                "service": filters.service,
                "label": filters.label,
            }
            return urlencode({**{k: v for k, v in params.items() if v}, "page": page})

        severities = [s.name for s in sorted(Severity, reverse=True)]
        return self._html(
            "list.html",
            rows=rows,
            total=total,
            pages=page_count,
            f=filters,
            severities=severities,
            query=query,
        )

    async def slo_detail(self, request: Request) -> Response:
        key = request.path_params["key"]
        evaluations, slos = self._data.evaluations()
        ev = next((e for e in evaluations if e.slo == key), None)
        if ev is None:
            groups = pages.groups_of(key, evaluations, slos)
            if groups:
                return self._html("groups.html", name=key, slo=slos[groups[0].key], rows=groups)
            return self._html("not_found.html", 404, what=f"no SLO {key!r} was evaluated")
        slo = slos.get(key)
        row = pages.slo_rows([ev], slos)[0]
        bars = pages.burn_bars(ev)
        bar_width = 600 / max(1, len(bars)) * 0.7
        episodes = [e for e in self._data.episodes() if e.slo == key][-RECENT_EPISODES:]
        history = await self._history_of(slo, ev.labels)
        return self._html(
            "detail.html",
            r=row,
            ev=ev,
            slo=slo,
            bars=bars,
            bar_width=bar_width,
            history=history,
            budget=_budget_chart(history),
            tiers=_tier_charts(history),
            span=format_duration(int(self._history.span_seconds)) if self._history else "",
            episodes=list(reversed(episodes)),
        )

    async def _history_of(self, slo: SLO | None, group: Mapping[str, str]) -> History | None:
        if self._history is None or slo is None:
            return None
        try:
            return await self._history.history(slo, group)
        except SloguardError:  # Prometheus unreachable: the page still shows the numbers
            return None

    async def incidents(self, _: Request) -> Response:
        everything = self._data.episodes()
        opened = [e for e in everything if e.resolved_at is None]
        recent = [e for e in everything if e.resolved_at is not None][-RECENT_EPISODES:]
        return self._html(
            "incidents.html", open=list(reversed(opened)), recent=list(reversed(recent))
        )

    async def incident(self, request: Request) -> Response:
        episode_id = request.path_params["episode_id"]
        episode = self._data.episode(episode_id)
        if episode is None:
            return self._html("not_found.html", 404, what=f"no episode {episode_id!r}")
        _, slos = self._data.evaluations()
        slo = slos.get(episode.slo)
        facts = SloFacts()
        if slo is not None:
            facts = SloFacts(
                service=slo.service,
                objective_percent=slo.objective_percent,
                period_seconds=slo.period_seconds,
                owner=slo.owner,
                runbook_url=slo.runbook_url,
                dashboard_url=slo.dashboard_url,
                description=slo.description,
            )
        return self._html(
            "incident.html",
            e=episode,
            postmortem=render(episode, facts),
            state=_state,
        )


__all__ = ["Ui", "UiData"]
