"""The receivers' connections behave like a vendor's endpoint: HTTP keep-alive, a listen backlog
that takes a burst of connections, and a receiver that is down answers on no connection."""

from __future__ import annotations

import contextlib
import socket
import threading

from harness.receivers import WebhookReceiver

REQUEST = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"


def answer(sock: socket.socket) -> bytes:
    """One response (head and body) read from ``sock``; b"" when the server closed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_two_requests_share_one_connection() -> None:
    with WebhookReceiver(secret=None) as rx, socket.create_connection(("127.0.0.1", rx.port)) as s:
        s.settimeout(5)
        for _ in range(2):
            s.sendall(REQUEST)
            head = answer(s)
            assert head.startswith(b"HTTP/1.1 "), head
            assert b"connection: close" not in head.lower()
        assert len(rx.arrivals) == 2


def test_a_receiver_that_goes_down_cuts_its_kept_alive_connections() -> None:
    with WebhookReceiver(secret=None) as rx, socket.create_connection(("127.0.0.1", rx.port)) as s:
        s.settimeout(5)
        s.sendall(REQUEST)
        assert answer(s).startswith(b"HTTP/1.1 ")
        rx.down()
        with contextlib.suppress(ConnectionError):  # reset or closed: no answer either way
            s.sendall(REQUEST)
            assert answer(s) == b""
        assert len(rx.arrivals) == 1
        rx.up()


def test_a_burst_of_connections_is_accepted_at_once() -> None:
    """64 clients connect together: none waits for a SYN retransmission (a second each), as
    they did with socketserver's default backlog of 5."""
    heads: list[bytes] = []
    with WebhookReceiver(secret=None) as rx:
        rx.delay(0.2)  # the server is busy while the burst arrives

        def client() -> None:
            with socket.create_connection(("127.0.0.1", rx.port), timeout=0.9) as s:
                s.settimeout(5)
                s.sendall(REQUEST)
                heads.append(answer(s))

        threads = [threading.Thread(target=client) for _ in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(heads) == 64
