"""A loopback HTTP proxy in front of a real Prometheus that can be told to misbehave.

Modes (switch at any time with :meth:`FaultProxy.set_mode`):

* ``pass``    - forward every request to Prometheus and its answer back, unchanged;
* ``down``    - stop listening: connections are refused, as when Prometheus is stopped;
* ``slow``    - wait ``slow_seconds`` before forwarding (longer than the client's timeout);
* ``garbage`` - answer ``200 OK`` with a body that is not a Prometheus answer (cycling through
  truncated JSON, an HTML error page, a wrong shape, non-numeric values, an error status).

The garbage bodies are chosen so that none of them could pass for a real answer: a proxy that
answered a plausible "0 % errors" would be lying, not failing, and no client can tell those apart.
"""

from __future__ import annotations

import itertools
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from harness._http import LoopbackServer, serve_in_thread, stop_serving

Mode = Literal["pass", "down", "slow", "garbage"]

GARBAGE: tuple[tuple[str, bytes], ...] = (
    ("application/json", b'{"status":"success","data":{"resultType":"vector","res'),
    ("text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    ("application/json", b'{"status":"success","data":{"resultType":"matrix","result":7}}'),
    (
        "application/json",
        b'{"status":"success","data":{"resultType":"vector",'
        b'"result":[{"metric":{},"value":[1704067200,"zero"]}]}}',
    ),
    ("application/json", b'{"status":"error","errorType":"internal","error":"tsdb says no"}'),
    ("application/octet-stream", bytes(range(256))),
)


class FaultProxy:
    """Use as a context manager; :attr:`url` is what sloguard's config points at."""

    def __init__(self, upstream: str, *, slow_seconds: float = 5.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.slow_seconds = slow_seconds
        self.mode: Mode = "pass"
        self.port = 0
        self.requests = 0
        self.faulted = 0
        self._garbage = itertools.cycle(GARBAGE)
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._listen()
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def set_mode(self, mode: Mode) -> None:
        with self._lock:
            previous, self.mode = self.mode, mode
        if mode == "down" and previous != "down":
            self._close()
        elif mode != "down" and previous == "down":
            self._listen()

    def _listen(self) -> None:
        if self._server is not None:
            return
        deadline = time.monotonic() + 10
        while True:
            try:
                server = LoopbackServer(("127.0.0.1", self.port), self._handler())
                break
            except OSError:  # the old socket may linger a moment after close
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.port = server.server_address[1]
        self._server = server
        self._thread = serve_in_thread(server, "fault-proxy")

    def _close(self) -> None:
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        stop_serving(server, thread)

    def _next_garbage(self) -> tuple[str, bytes]:
        with self._lock:
            return next(self._garbage)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.requests += 1
                    mode = proxy.mode
                    if mode != "pass":
                        proxy.faulted += 1
                if mode == "garbage":
                    self._answer(200, *proxy._next_garbage())
                    return
                if mode == "slow":
                    time.sleep(proxy.slow_seconds)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("content-type", "authorization", "accept")
                }
                request = urllib.request.Request(  # noqa: S310 - always the loopback upstream
                    proxy.upstream + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310  # nosec B310
                        self._answer(
                            resp.status,
                            resp.headers.get("Content-Type", "application/json"),
                            resp.read(),
                        )
                except urllib.error.HTTPError as exc:
                    self._answer(
                        exc.code, exc.headers.get("Content-Type", "text/plain"), exc.read()
                    )
                except (OSError, ConnectionError):
                    return  # the client gave up (slow mode) or the upstream went away

            do_GET = do_POST = _serve

        return Handler
