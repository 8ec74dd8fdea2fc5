"""uvicorn hosting an ASGI app inside the daemon's event loop, with sloguard's limits.

The daemon owns the loop and the signals, so the server is started and stopped by hand
(``startup``/``main_loop``/``shutdown``) rather than by ``uvicorn.run``. Each limit maps to
one setting: ``max_connections`` to ``limit_concurrency`` (503 beyond it), ``max_head_bytes``
to ``h11_max_incomplete_event_size`` plus the 414/431 answer of the guarded protocol,
``head_timeout_seconds`` to the protocol's head deadline and ``timeout_keep_alive``, and
``shutdown_grace_seconds`` to ``timeout_graceful_shutdown``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket

import uvicorn
from starlette.types import ASGIApp

from sloguard.server._protocol import GuardedProtocol

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerLimits:
    max_head_bytes: int = 8192
    head_timeout_seconds: float = 5.0
    max_connections: int = 64
    shutdown_grace_seconds: float = 2.0


class HttpServer:
    """One listener serving one ASGI app, bound by :meth:`start` and stopped by :meth:`stop`."""

    def __init__(self, app: ASGIApp, *, limits: ServerLimits | None = None) -> None:
        self._app = app
        self._limits = limits or ServerLimits()
        self._server: uvicorn.Server | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._sockets: list[socket.socket] = []

    async def start(self, host: str, port: int) -> None:
        limits = self._limits
        protocol = type(
            "SloguardProtocol",
            (GuardedProtocol,),
            {
                "head_timeout_seconds": limits.head_timeout_seconds,
                "max_head_bytes": limits.max_head_bytes,
            },
        )
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            http=protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            # uvicorn answers 503 once connections >= the limit; ours counts the new one too.
            limit_concurrency=limits.max_connections + 1,
            h11_max_incomplete_event_size=limits.max_head_bytes,
            timeout_keep_alive=max(1, round(limits.head_timeout_seconds)),
            timeout_graceful_shutdown=max(1, round(limits.shutdown_grace_seconds)),
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)  # what uvicorn's serve() sets up
        # Bound here, not by uvicorn: its own bind turns "address in use" into sys.exit().
        self._sockets = [_bind(host, port)]
        await server.startup(sockets=self._sockets)
        self._server = server
        self._loop_task = asyncio.create_task(server.main_loop())
        log.info("http server listening", extra={"address": self.address})

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): with port 0, the one the kernel picked."""
        if self._server is None or not self._server.servers:
            raise RuntimeError("the server is not started")
        sockname = self._server.servers[0].sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish for a moment, then cut the rest."""
        server, task = self._server, self._loop_task
        if server is None or task is None:
            return
        server.should_exit = True
        await task
        await server.shutdown(sockets=self._sockets)
        self._sockets = []
        self._server = None
        self._loop_task = None


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (OSError with the kernel's reason if it cannot)."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return socket.create_server(address[:2], family=family, backlog=128)


__all__ = ["HttpServer", "ServerLimits"]
