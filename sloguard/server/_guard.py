"""An ASGI middleware that keeps every endpoint read-only and strict about what it accepts.

uvicorn parses the request; this decides, before any route runs, what the old hand-written
server decided: ``GET``/``HEAD`` only (405 with ``Allow``), no request body (413), a path
target only (400), one ``Host`` (400). It also sets the headers every answer carries:
``Cache-Control: no-store``, ``X-Content-Type-Options: nosniff``, a strict
Content-Security-Policy (no script at all, no remote anything) and ``Connection: close``
after an error.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = ("GET", "HEAD")

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_COMMON = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
)


class Guard:
    """Refuse what a read-only endpoint must not accept; add the common headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refusal(scope)
        if refusal is not None:
            status, message, extra = refusal
            await _send_error(send, status, message, extra)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_COMMON)
                if message["status"] >= 400:
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _refusal(scope: Scope) -> tuple[HTTPStatus, str, tuple[tuple[bytes, bytes], ...]] | None:
    """(status, message, extra headers) when the request must be refused, else None."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    names = [name for name, _ in headers]
    if not scope["path"].startswith("/") or scope.get("raw_path", b"/")[:1] != b"/":
        return HTTPStatus.BAD_REQUEST, "the target must be a path starting with /", ()
    if scope.get("http_version") not in ("1.0", "1.1"):
        return HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and 1.1", ()
    if names.count(b"host") > 1:
        return HTTPStatus.BAD_REQUEST, "duplicate host header", ()
    if b"transfer-encoding" in names:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request bodies are not accepted", ()
    length = dict(headers).get(b"content-length", b"0")
    if length.strip() not in (b"", b"0") and set(length.strip()) != {ord("0")}:
        return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request bodies are not accepted", ()
    if scope["method"] not in ALLOWED_METHODS:
        allow = ((b"allow", ", ".join(ALLOWED_METHODS).encode()),)
        return (
            HTTPStatus.METHOD_NOT_ALLOWED,
            "only GET and HEAD are allowed: this endpoint is read-only",
            allow,
        )
    return None


async def _send_error(
    send: Send, status: HTTPStatus, message: str, extra: tuple[tuple[bytes, bytes], ...]
) -> None:
    body = f"{status.value} {status.phrase}: {message}\n".encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *_COMMON,
        *extra,
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status.value, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["ALLOWED_METHODS", "CSP", "Guard"]
