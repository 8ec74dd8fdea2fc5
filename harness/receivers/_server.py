"""The part every fake receiver shares: a loopback HTTP server in a thread, a record of every
request, and faults to inject (fail N times, delay, drop, reset, go down and come back).

A receiver subclass implements :meth:`Receiver.handle`: validate against the vendor's contract,
apply the vendor's dedup semantics, and answer as the vendor does.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

from harness._http import LoopbackServer, serve_in_thread, stop_serving

Clock = Callable[[], float]
IDLE_SECONDS = 30.0
FaultKind = Literal["status", "drop", "reset"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a receiver answers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), "application/json", headers or {})

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8")


@dataclass(slots=True)
class Arrival:
    """One request as it arrived, and what became of it."""

    at: float  # receiver clock when it arrived
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int | None = None  # None: the connection was dropped or reset
    reply: bytes = b""
    outcome: str = ""  # "accepted", "duplicate", "rejected", "fault:503", "fault:drop", ...
    errors: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def accepted(self) -> bool:
        return self.outcome in ("accepted", "duplicate")


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    body: bytes = b""


class Receiver:
    """Base class. Use as a context manager (``with PagerDutyReceiver() as pd: ...``)."""

    service = "receiver"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, clock: Clock = time.time) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        self.on_arrival: Callable[[Receiver, Arrival], None] | None = None
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._arrivals: list[Arrival] = []
        self.aborted = 0  # requests whose client went away before its body was all sent
        self._faults: deque[_Fault] = deque()
        self._delay_seconds = 0.0
        self._delay_times: int | None = None
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        server = LoopbackServer((self.host, self.port), self._handler_class())
        self.port = server.server_address[1]
        self._server = server
        self._thread = serve_in_thread(server, f"{self.service}-receiver")
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        stop_serving(server, thread)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def down(self) -> None:
        """Stop listening: new connections are refused until :meth:`up`."""
        self.stop()

    def up(self) -> None:
        """Listen again on the same port."""
        self.start()

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.down()
        try:
            yield
        finally:
            self.up()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- faults ----------------------------------------------------------------------------
    def fail(
        self, times: int = 1, *, status: int = 503, retry_after: float | str | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (and ``Retry-After`` if given),
        without processing them."""
        ra = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.extend(_Fault("status", status, ra) for _ in range(times))

    def drop(self, times: int = 1) -> None:
        """Close the next ``times`` connections without answering (after reading the request)."""
        with self._lock:
            self._faults.extend(_Fault("drop") for _ in range(times))

    def reset(self, times: int = 1) -> None:
        """Reset (TCP RST) the next ``times`` connections without answering."""
        with self._lock:
            self._faults.extend(_Fault("reset") for _ in range(times))

    def delay(self, seconds: float, times: int | None = None) -> None:
        """Wait ``seconds`` before answering the next ``times`` requests (None: all of them)."""
        with self._lock:
            self._delay_seconds = seconds
            self._delay_times = times

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delay_seconds = 0.0
            self._delay_times = None

    # --- records ---------------------------------------------------------------------------
    @property
    def arrivals(self) -> list[Arrival]:
        with self._lock:
            return list(self._arrivals)

    def accepted(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.outcome == "accepted"]

    def wait_for(
        self, predicate: Callable[[list[Arrival]], bool], timeout: float = 5.0
    ) -> list[Arrival]:
        """Block until ``predicate(arrivals)`` holds; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate(list(self._arrivals)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.service}: condition not met within {timeout}s")
                self._arrived.wait(left)
            return list(self._arrivals)

    # --- to implement ----------------------------------------------------------------------
    def handle(self, arrival: Arrival) -> Reply:
        """Validate and apply ``arrival``; set ``arrival.outcome``/``errors``; return the reply.
        Called with the receiver lock held, so state changes are atomic."""
        raise NotImplementedError

    # --- plumbing --------------------------------------------------------------------------
    def _next_fault(self) -> tuple[_Fault | None, float]:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            delay = 0.0
            if self._delay_seconds and (self._delay_times is None or self._delay_times > 0):
                delay = self._delay_seconds
                if self._delay_times is not None:
                    self._delay_times -= 1
            return fault, delay

    def _record(self, arrival: Arrival) -> None:
        with self._arrived:
            self._arrivals.append(arrival)
            self._arrived.notify_all()
        if self.on_arrival is not None:
            self.on_arrival(self, arrival)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the vendors' endpoints allow
            server_version = f"sloguard-fake-{receiver.service}"
            # An idle kept-alive connection is closed after this long: longer than a client's
            # own idle expiry (httpx: 5 s), so a reused connection is not cut as it is used.
            timeout = IDLE_SECONDS

            def log_message(self, format: str, *args: Any) -> None:
                return  # the record of arrivals is the log

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without NODELAY the second waits
                # for the client's delayed ACK (40 ms on Linux) on every request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # The client went away mid-body (killed, cut off): a real service never
                    # sees a request, so nothing is recorded or handled.
                    with receiver._lock:
                        receiver.aborted += 1
                    self.close_connection = True
                    return
                split = urlsplit(self.path)
                arrival = Arrival(
                    at=receiver.clock(),
                    method=self.command,
                    path=split.path,
                    query=dict(parse_qsl(split.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                fault, delay = receiver._next_fault()
                if delay:
                    time.sleep(delay)
                if fault is not None and fault.kind in ("drop", "reset"):
                    arrival.outcome = f"fault:{fault.kind}"
                    receiver._record(arrival)
                    if fault.kind == "reset":
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault is not None:
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    reply = Reply(fault.status, fault.body, "text/plain", headers)
                    arrival.outcome = f"fault:{fault.status}"
                else:
                    with receiver._lock:
                        try:
                            reply = receiver.handle(arrival)
                        except Exception as exc:  # noqa: BLE001 (a bug in a fake must still answer)
                            reply = Reply.text(500, f"fake receiver error: {exc!r}")
                            arrival.outcome = "rejected"
                            arrival.errors.append(repr(exc))
                arrival.status = reply.status
                arrival.reply = reply.body
                # Recorded before answering: once a client has its answer, the record holds it.
                receiver._record(arrival)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = _serve

        return Handler


def schema_errors(validator: Any, instance: Any) -> list[str]:
    """Every jsonschema error as ``path: message``, sorted for stable assertions."""
    out = []
    for error in validator.iter_errors(instance):
        path = ".".join(str(p) for p in error.absolute_path) or "<body>"
        out.append(f"{path}: {error.message}")
    return sorted(out)


def one_line(receiver: Receiver, arrival: Arrival) -> str:
    """A readable line per arrival for the demo: time, service, request, outcome."""
    stamp = time.strftime("%H:%M:%S", time.localtime(arrival.at))
    status = "dropped" if arrival.status is None else str(arrival.status)
    errors = f" errors={arrival.errors[:2]}" if arrival.errors else ""
    return (
        f"{stamp} {receiver.service:<9} {arrival.method} {arrival.path} -> {status} "
        f"{arrival.outcome}{errors}"
    )
