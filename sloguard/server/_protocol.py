"""uvicorn's h11 protocol with the limits a public-facing daemon port needs.

uvicorn caps an incomplete request head (``h11_max_incomplete_event_size``), open connections
(``limit_concurrency``, answered 503) and idle keep-alive (``timeout_keep_alive``). Three things
it leaves open are added here, each a few lines over its documented hooks:

* a head deadline: a request head not complete within ``head_timeout_seconds`` of the
  connection opening (or of the previous response) is answered 408 and closed, so a client
  sending one byte a second cannot hold a slot (an idle keep-alive connection is closed quietly);
* an oversized head is answered 414 (request line alone too long) or 431, not a bare 400;
* a client that half-closes after its requests still gets every answer, and one that closes
  in the middle of a head gets a 400 saying so.
"""

from __future__ import annotations

import asyncio
import sys
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def error_bytes(status: HTTPStatus, message: str) -> bytes:
    """A complete HTTP/1.1 error response that closes the connection."""
    body = f"{status.value} {status.phrase}: {message}\n".encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\n"
        "cache-control: no-store\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class GuardedProtocol(H11Protocol):
    """H11Protocol plus a head deadline, 414/431 for big heads and half-close handling."""

    head_timeout_seconds: float = 5.0
    max_head_bytes: int = 8192

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._served = 0
        self._eof = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            pending = self.conn.trailing_data[0] + data
            head_open = b"\r\n\r\n" not in pending[: self.max_head_bytes + 4]
            if head_open and len(pending) > self.max_head_bytes:
                self._refuse_big_head(pending)
                return
        super().data_received(data)

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """Keep writing after the client's half-close until what it asked for is answered."""
        self._eof = True
        if self.cycle is not None and not self.cycle.response_complete:
            return True
        self._close_after_eof()
        return True

    def on_response_complete(self) -> None:
        self._served += 1
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE:
            self._arm_head_timer()
            if self._eof:
                self._close_after_eof()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_timer()  # the head is in; the response is the app's business

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this inside its ``except h11.RemoteProtocolError``: answer with h11's
        reason and status hint (400, 414, 431, 505) instead of a bare 400 without a length."""
        exc = sys.exc_info()[1]
        status, reason = HTTPStatus.BAD_REQUEST, msg
        if isinstance(exc, h11.RemoteProtocolError):
            status, reason = HTTPStatus(exc.error_status_hint), str(exc) or msg
        self.transport.write(error_bytes(status, reason))
        self.transport.close()

    # -- helpers ---------------------------------------------------------------------------

    def _close_after_eof(self) -> None:
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            message = "connection closed in the middle of a request"
            self.transport.write(error_bytes(HTTPStatus.BAD_REQUEST, message))
        self.transport.close()

    def _refuse_big_head(self, pending: bytes) -> None:
        limit = self.max_head_bytes
        if b"\r\n" not in pending[:limit]:
            status, what = HTTPStatus.REQUEST_URI_TOO_LONG, "the request line is"
        else:
            status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            what = "the request line and headers are"
        self.transport.write(error_bytes(status, f"{what} limited to {limit} bytes"))
        self.transport.close()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_seconds, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._served == 0 or self.conn.trailing_data[0]:  # a slow client, not an idle one
            message = "request head not received in time"
            self.transport.write(error_bytes(HTTPStatus.REQUEST_TIMEOUT, message))
        self.transport.close()


__all__ = ["GuardedProtocol", "error_bytes"]
