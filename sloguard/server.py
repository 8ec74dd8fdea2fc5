"""sloguard's read-only HTTP endpoint: ``/metrics``, probes, ``/api/v1/slos``, ``/api/v1/gate``.

A deliberately small HTTP/1.1 server on :func:`asyncio.start_server`: the daemon already runs
an event loop, the surface is four GET routes, and a strict parser with hard caps is easier to
trust than a framework. What it accepts:

* ``GET`` and ``HEAD`` only (anything else: 405 with ``Allow``), origin-form targets only;
* a request head (request line + headers) of at most ``max_head_bytes`` (414 when the request
  line alone is too long, 431 otherwise), read within ``head_timeout_seconds`` in total, so a
  client sending one byte a second is cut off (408, then close);
* no request body: a non-zero ``Content-Length`` or any ``Transfer-Encoding`` gives 413;
* HTTP/1.1 needs ``Host``; obsolete line folding, bare LF-only heads with junk and malformed
  header names give 400; anything but HTTP/1.0 or 1.1 gives 505;
* keep-alive for HTTP/1.1 (Prometheus reuses its scrape connection), closed after an error,
  after ``max_requests_per_connection`` or when idle for ``head_timeout_seconds``;
* at most ``max_connections`` at once; the next one gets 503 and is closed.

Nothing here writes: the endpoints render state that providers (callables) hand over.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from sloguard.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from sloguard.ports import Clock

log = logging.getLogger(__name__)

SnapshotProvider = Callable[[], Mapping[str, Any]]
# /api/v1/gate: the query (each name with its values) in, the HTTP status and the JSON body out.
GateProvider = Callable[[Mapping[str, Sequence[str]]], tuple[int, Mapping[str, Any]]]
MetricsRenderer = Callable[[], bytes]

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/(\d)\.(\d)$")
_TARGET = re.compile(rb"^/[\x21-\x7e]*$")  # origin-form: visible ASCII, no spaces
_ALLOWED = ("GET", "HEAD")


@dataclasses.dataclass(frozen=True, slots=True)
class ServerLimits:
    max_head_bytes: int = 8192
    head_timeout_seconds: float = 5.0
    write_timeout_seconds: float = 10.0
    max_connections: int = 64
    max_requests_per_connection: int = 1000
    shutdown_grace_seconds: float = 2.0
    linger_seconds: float = 0.5


def parse_listen(text: str) -> tuple[str, int]:
    """``"0.0.0.0:9464"``, ``"127.0.0.1:0"``, ``"[::]:9464"`` or ``":9464"`` (all interfaces)
    -> (host, port). Raises ValueError with what would be valid."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 0.0.0.0:9464 or [::]:9464")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range 0..65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write IPv6 addresses in brackets, e.g. [::1]:9464")
    return host or "0.0.0.0", port  # noqa: S104 (empty host: all interfaces)  # nosec B104


class Readiness:
    """Ready = a configuration is loaded and a tick succeeded within ``grace_intervals`` ticks.

    The daemon reports into it; ``/readyz`` reads it. Time comes from the injected clock
    (monotonic), so an NTP step never flips readiness.
    """

    def __init__(self, clock: Clock, *, interval_seconds: float, grace_intervals: int = 3) -> None:
        self._clock = clock
        self._interval = interval_seconds
        self._grace = grace_intervals
        self._config_loaded = False
        self._last_success: float | None = None
        self._stopping = False
        self._note = ""

    def config_loaded(self, interval_seconds: float | None = None) -> None:
        self._config_loaded = True
        if interval_seconds is not None:
            self._interval = interval_seconds

    def tick_succeeded(self, note: str = "") -> None:
        """A regular tick succeeded; ``note`` replaces "ok" in the probe's answer (a standby
        replica says it holds no shard)."""
        self._last_success = self._clock.monotonic()
        self._note = note

    def stopping(self) -> None:
        self._stopping = True

    def check(self) -> tuple[bool, str]:
        """(ready, reason); the reason is for a person reading the probe's output."""
        if self._stopping:
            return False, "shutting down"
        if not self._config_loaded:
            return False, "configuration not loaded yet"
        if self._last_success is None:
            return False, "no successful evaluation yet"
        age = self._clock.monotonic() - self._last_success
        limit = self._grace * self._interval
        if age > limit:
            return False, (
                f"last successful evaluation {age:.0f}s ago, more than {self._grace} intervals "
                f"({limit:.0f}s)"
            )
        return True, self._note or "ok"


@dataclasses.dataclass(frozen=True, slots=True)
class _Response:
    status: HTTPStatus
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


class _BadRequest(Exception):
    """Parser control flow: becomes an error response, never escapes this module."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclasses.dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    version: tuple[int, int]
    headers: Mapping[str, str]
    query: Mapping[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version >= (1, 1):
            return "close" not in conn
        return "keep-alive" in conn


class HttpServer:
    """The endpoints, bound by :meth:`start` and stopped by :meth:`stop`."""

    def __init__(
        self,
        *,
        metrics: MetricsRenderer,
        readiness: Readiness,
        snapshot: SnapshotProvider,
        gate: GateProvider | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self._metrics = metrics
        self._readiness = readiness
        self._snapshot = snapshot
        self._gate = gate
        self._limits = limits or ServerLimits()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._routes: dict[str, Callable[[], _Response]] = {
            "/": self._index,
            "/metrics": self._get_metrics,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/api/v1/slos": self._slos,
        }
        if gate is not None:
            self._routes["/api/v1/gate"] = self._gate_route

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._on_connection, host, port)
        log.info("http server listening", extra={"address": self.address})

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): with port 0, the one the kernel picked."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the server is not started")
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish for a moment, then cut the rest."""
        if self._server is None:
            return
        self._server.close()
        if self._handlers:
            _, pending = await asyncio.wait(
                set(self._handlers), timeout=self._limits.shutdown_grace_seconds
            )
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._server.wait_closed()
        self._server = None

    # -- connection handling ------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if len(self._handlers) > self._limits.max_connections:
                busy = _error(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections")
                await self._write(writer, busy, head_only=False)
                return
            await self._serve(reader, writer)
        except (ConnectionError, TimeoutError):
            pass  # the client went away or stopped reading; nothing to tell it
        finally:
            self._handlers.discard(task)
            with contextlib.suppress(OSError, TimeoutError, RuntimeError):
                await self._linger(reader, writer)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Half-close, then drain what the client still sends for a moment: closing a socket
        with unread input makes the kernel send RST, which can destroy the response (a 413 or
        503) before the client reads it."""
        if writer.is_closing() or not writer.can_write_eof():
            return
        writer.write_eof()
        async with asyncio.timeout(self._limits.linger_seconds):
            while await reader.read(65536):
                pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = bytearray()  # bytes read past one request head belong to the next one
        for served in range(self._limits.max_requests_per_connection):
            try:
                async with asyncio.timeout(self._limits.head_timeout_seconds):
                    head = await self._read_head(reader, buffer)
                if head is None:
                    return  # clean close between requests
                request = _parse_head(head)
            except TimeoutError:
                if served == 0 or buffer:  # a slow client, not an idle keep-alive: say why
                    timeout = _error(
                        HTTPStatus.REQUEST_TIMEOUT, "request head not received in time"
                    )
                    await self._write(writer, timeout, head_only=False)
                return
            except _BadRequest as exc:
                await self._write(writer, _error(exc.status, str(exc)), head_only=False)
                return
            response = self._respond(request)
            last = served + 1 == self._limits.max_requests_per_connection
            if not request.keep_alive or last:
                response = dataclasses.replace(response, close=True)
            await self._write(writer, response, head_only=request.method == "HEAD")
            if response.close:
                return

    async def _read_head(self, reader: asyncio.StreamReader, buffer: bytearray) -> bytes | None:
        """The next request head (through CRLF CRLF), or None on EOF before any byte of it."""
        limit = self._limits.max_head_bytes
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0 and end + 4 <= limit:
                head = bytes(buffer[: end + 4])
                del buffer[: end + 4]
                return head
            if len(buffer) >= limit or end >= 0:
                line_end = buffer.find(b"\r\n", 0, limit)
                if line_end < 0:
                    raise _BadRequest(
                        HTTPStatus.REQUEST_URI_TOO_LONG,
                        f"the request line is limited to {limit} bytes",
                    )
                raise _BadRequest(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    f"the request line and headers are limited to {limit} bytes",
                )
            chunk = await reader.read(4096)
            if not chunk:
                if buffer:
                    raise _BadRequest(
                        HTTPStatus.BAD_REQUEST, "connection closed in the middle of a request"
                    )
                return None
            buffer += chunk

    async def _write(
        self, writer: asyncio.StreamWriter, response: _Response, *, head_only: bool
    ) -> None:
        lines = [
            f"HTTP/1.1 {response.status.value} {response.status.phrase}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            "Cache-Control: no-store",
            "X-Content-Type-Options: nosniff",
            *(f"{k}: {v}" for k, v in response.headers),
        ]
        if response.close:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        writer.write(data if head_only else data + response.body)
        async with asyncio.timeout(self._limits.write_timeout_seconds):
            await writer.drain()

    # -- routes -------------------------------------------------------------------------------

    def _respond(self, request: _Request) -> _Response:
        route = self._routes.get(request.path)
        if route is None:
            return _error(HTTPStatus.NOT_FOUND, f"no such endpoint {request.path!r}; see /")
        if request.method not in _ALLOWED:
            return _Response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                b"only GET and HEAD are allowed: this endpoint is read-only\n",
                headers=(("Allow", ", ".join(_ALLOWED)),),
                close=True,
            )
        if route == self._gate_route:
            return self._gate_route(request.query)
        return route()

    def _index(self) -> _Response:
        body = (
            "sloguard\n\n"
            "/metrics       Prometheus metrics (sloguard_*)\n"
            "/healthz       200 while the process runs\n"
            "/readyz        200 when a configuration is loaded and evaluation is recent\n"
            "/api/v1/slos   every SLO's current state and open episodes, as JSON\n"
            "/api/v1/gate   may a release go out? e.g. ?service=checkout (docs/gates.md)\n"
        )
        return _Response(HTTPStatus.OK, body.encode())

    def _get_metrics(self) -> _Response:
        return _Response(HTTPStatus.OK, self._metrics(), METRICS_CONTENT_TYPE)

    def _healthz(self) -> _Response:
        return _Response(HTTPStatus.OK, b"ok\n")

    def _readyz(self) -> _Response:
        ready, reason = self._readiness.check()
        status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
        return _json(status, {"ready": ready, "reason": reason})

    def _slos(self) -> _Response:
        return _json(HTTPStatus.OK, self._snapshot())

    def _gate_route(self, query: Mapping[str, list[str]] | None = None) -> _Response:
        assert self._gate is not None  # routed only when given
        status, body = self._gate(query or {})
        return _json(HTTPStatus(status), body)


def _parse_head(head: bytes) -> _Request:
    """Strict parse of a request head ending in CRLF CRLF."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "malformed request line")
    method_b, target, version_b = parts
    if not _TOKEN.match(method_b):
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "malformed method")
    version_m = _VERSION.match(version_b)
    if version_m is None:
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "malformed HTTP version")
    version = (int(version_m[1]), int(version_m[2]))
    if version not in ((1, 0), (1, 1)):
        raise _BadRequest(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and 1.1")
    if not _TARGET.match(target):
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "the target must be a path starting with /")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):  # also rejects obs-fold (leading whitespace)
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "malformed header line")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        if key in headers and key in ("host", "content-length", "transfer-encoding"):
            raise _BadRequest(HTTPStatus.BAD_REQUEST, f"duplicate {key} header")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    if version >= (1, 1) and "host" not in headers:
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "HTTP/1.1 requests need a Host header")
    if "transfer-encoding" in headers:
        raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request bodies are not accepted")
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _BadRequest(HTTPStatus.BAD_REQUEST, "malformed Content-Length")
        if int(length) > 0:
            raise _BadRequest(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request bodies are not accepted"
            )
    path, _, query = target.decode("ascii").partition("?")
    try:
        params = urllib.parse.parse_qs(query, keep_blank_values=True, max_num_fields=64)
    except ValueError:
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "too many query parameters") from None
    return _Request(method_b.decode("ascii"), path, version, headers, params)


def _error(status: HTTPStatus, message: str) -> _Response:
    return _Response(status, f"{status.value} {status.phrase}: {message}\n".encode(), close=True)


def _json(status: HTTPStatus, payload: Mapping[str, Any]) -> _Response:
    body = json.dumps(_finite(payload), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return _Response(status, body.encode(), "application/json")


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: unknown or unbounded numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


__all__ = ["HttpServer", "Readiness", "ServerLimits", "SnapshotProvider", "parse_listen"]
