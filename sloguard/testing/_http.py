"""The threaded loopback HTTP server the test receivers and the fault proxy both run on."""

from __future__ import annotations

import sys
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
