"""The daemon port's routes, Starlette style: one function each, one list, one app builder.

The app is built from its data sources (callables and the readiness object), so tests drive
it in-process with ``httpx.ASGITransport`` and the daemon serves it on uvicorn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sloguard.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from sloguard.server._guard import Guard
from sloguard.server.readiness import Readiness

SnapshotProvider = Callable[[], Mapping[str, Any]]
# /api/v1/gate: the query (each name with its values) in, the HTTP status and the JSON body out.
GateProvider = Callable[[Mapping[str, Sequence[str]]], tuple[int, Mapping[str, Any]]]
MetricsRenderer = Callable[[], bytes]

INDEX = (
    "sloguard\n\n"
    "/metrics       Prometheus metrics (sloguard_*)\n"
    "/healthz       200 while the process runs\n"
    "/readyz        200 when a configuration is loaded and evaluation is recent\n"
    "/api/v1/slos   every SLO's current state and open episodes, as JSON\n"
    "/api/v1/gate   may a release go out? e.g. ?service=checkout (docs/gates.md)\n"
)


@dataclass(frozen=True, slots=True)
class Sources:
    """What the endpoints read; nothing here is written by a request."""

    metrics: MetricsRenderer
    readiness: Readiness
    snapshot: SnapshotProvider
    gate: GateProvider | None = None
    extra_routes: Sequence[BaseRoute] = field(default_factory=tuple)


def json_response(payload: Mapping[str, Any], status: int = 200) -> Response:
    """Strict JSON (no NaN/Infinity: unknown or unbounded numbers become null)."""
    body = json.dumps(_finite(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return Response(body, status_code=status, media_type="application/json")


async def no_favicon(_: Request) -> Response:
    """Browsers ask for /favicon.ico on every page: answer "nothing here" without a 404."""
    return Response(status_code=204)


def build_app(sources: Sources) -> Starlette:
    """The daemon port's ASGI app: the API endpoints plus any ``extra_routes`` (the UI)."""

    async def metrics(_: Request) -> Response:
        return Response(sources.metrics(), media_type=METRICS_CONTENT_TYPE)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(_: Request) -> Response:
        ready, reason = sources.readiness.check()
        return json_response({"ready": ready, "reason": reason}, 200 if ready else 503)

    async def slos(_: Request) -> Response:
        return json_response(sources.snapshot())

    async def gate(request: Request) -> Response:
        assert sources.gate is not None  # routed only when given
        query = {name: request.query_params.getlist(name) for name in request.query_params}
        status, body = sources.gate(query)
        return json_response(body, status)

    async def index(_: Request) -> Response:
        return PlainTextResponse(INDEX)

    routes: list[BaseRoute] = [
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/api/v1/slos", slos),
        Route("/favicon.ico", no_favicon),
        *([Route("/api/v1/gate", gate)] if sources.gate is not None else []),
        *sources.extra_routes,
    ]
    if not any(getattr(r, "path", None) == "/" for r in sources.extra_routes):
        routes.append(Route("/", index))
    app = Starlette(routes=routes, exception_handlers={404: _not_found})
    app.add_middleware(Guard)
    return app


async def _not_found(request: Request, _: Exception) -> Response:
    return PlainTextResponse(
        f"404 Not Found: no such endpoint {request.url.path!r}; see /\n", status_code=404
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


__all__ = [
    "GateProvider",
    "MetricsRenderer",
    "SnapshotProvider",
    "Sources",
    "build_app",
    "json_response",
    "no_favicon",
]
