"""The threaded loopback HTTP server the test receivers and the fault proxy both run on."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """Daemon threads, fast restarts on the same port, and quiet about clients that hang up:
    a client that gave up (a timeout or slow-mode test) leaves a broken pipe on purpose.

    A listen backlog as a real service has (socketserver's default of 5 drops the SYNs of a
    burst of connections, and each dropped one waits a second for its retransmission), and
    the open connections are tracked so that stopping cuts the kept-alive ones too: a stopped
    server answers nothing, on an old connection or a new one."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """End every open connection (its handler thread then finds it closed)."""
        with self._connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def serve_in_thread(server: LoopbackServer, name: str) -> threading.Thread:
    """Serve ``server`` from a daemon thread (polling often, so stops are quick)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: LoopbackServer | None, thread: threading.Thread | None) -> None:
    """Shut down and close ``server`` (if any) and wait briefly for its thread."""
    if server is not None:
        server.shutdown()
        server.server_close()
        server.cut_connections()
    if thread is not None:
        thread.join(timeout=5)
