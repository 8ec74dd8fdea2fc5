"""The threaded loopback HTTP server the test receivers and the fault proxy both run on."""

from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    """Daemon threads, fast restarts on the same port, and quiet about clients that hang up:
    a client that gave up (a timeout or slow-mode test) leaves a broken pipe on purpose."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

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
    if thread is not None:
        thread.join(timeout=5)
