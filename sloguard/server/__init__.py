"""sloguard's HTTP side: Starlette routes served by uvicorn, with sloguard's limits.

* :mod:`.routes` builds the daemon port's app from its data sources;
* :mod:`._guard` keeps every endpoint read-only and strict (an ASGI middleware);
* :mod:`._protocol` adds a head deadline and 414/431 answers to uvicorn's h11 protocol;
* :mod:`._host` runs uvicorn inside the daemon's event loop;
* :mod:`.readiness` says whether ``/readyz`` is green.
"""

from sloguard.server._host import HttpServer, ServerLimits
from sloguard.server.readiness import Readiness, parse_listen
from sloguard.server.routes import SnapshotProvider, Sources, build_app

__all__ = [
    "HttpServer",
    "Readiness",
    "ServerLimits",
    "SnapshotProvider",
    "Sources",
    "build_app",
    "parse_listen",
]
