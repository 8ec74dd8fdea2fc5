"""One HTTP call of a notifier, its failure sorted into retry-later or give-up.

Each integration passes its own ``transient`` rule, taken from the vendor's documentation (see
``harness/contracts/*/contract.json``); everything else here is shared: timeouts,
transport errors, ``Retry-After``, and keeping secrets out of messages and logs.

Secrets can sit in a URL (Slack incoming webhooks, incident platforms' ingest URLs). httpx logs
every request URL at INFO, and its exceptions carry the request, so a notifier registers its
secrets with :func:`register_secret` and a filter on the ``httpx`` logger redacts them; errors
from a secret URL are raised ``from None`` so no chained exception carries the URL either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from sloguard.durations import parse_retry_after
from sloguard.errors import PermanentDeliveryError, TransientDeliveryError

REDACTED = "<redacted>"
_secrets: set[str] = set()
_lock = threading.Lock()
_MIN_SECRET_LEN = 8  # shorter strings would redact ordinary words


class _RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactSecrets()
_HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


def register_secret(secret: str, *, is_url: bool = False) -> None:
    """Redact ``secret`` from httpx's log lines and from our own error messages from now on.
    For a URL, its path and query are registered too: a receiver that echoes the request
    line in an error body would otherwise give the token away."""
    candidates = [secret]
    if is_url:
        split = urlsplit(secret)
        candidates.append(split.path + (f"?{split.query}" if split.query else ""))
        candidates.append(split.path)
    with _lock:
        _secrets.update(c for c in candidates if len(c) >= _MIN_SECRET_LEN)
    # Filters on a logger do not see records of its children, so each httpcore logger is named.
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced (longest first, so a URL beats its path)."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def vendor_transient(status: int) -> bool:
    """The common rule: 429 (throttled) and 5xx are worth retrying, other 4xx are not.
    408 (the receiver timed out reading us) and 425 (too early) are transient by definition."""
    return status in (408, 425, 429) or 500 <= status <= 599


def _detail(response: httpx.Response) -> str:
    # Redact before cutting, so a secret straddling the cut cannot leak in part.
    text = redact(response.text.strip().replace("\n", " "))
    return text[:300]


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    what: str,
    timeout_seconds: float,
    transient: Callable[[int], bool] = vendor_transient,
    json: Any = None,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    default_retry_after: float | None = None,
    secret_url: bool = False,
    now: Callable[[], float] = time.time,
) -> httpx.Response:
    """Send one request; return the 2xx response or raise a DeliveryError.

    ``what`` names the call in messages (``"pagerduty 'pd' trigger"``); it must not contain
    secrets. Redirects are never followed: a webhook that redirects is misconfigured, and
    following it would re-send a signed body to an address nobody configured. ``now`` (unix
    seconds) measures a ``Retry-After`` HTTP-date when the answer has no ``Date`` header.
    """
    try:
        response = await client.request(
            method,
            url,
            json=json,
            content=content,
            headers=dict(headers or {}),
            params=dict(params or {}),
            timeout=timeout_seconds,
            follow_redirects=False,
        )
    except httpx.TimeoutException as exc:
        error = TransientDeliveryError(f"{what}: no answer within {timeout_seconds:g}s")
        if secret_url:
            raise error from None
        raise error from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        perm = PermanentDeliveryError(
            f"{what}: the configured URL is not usable ({type(exc).__name__})"
        )
        if secret_url:
            raise perm from None
        raise perm from exc
    except httpx.TransportError as exc:
        # Connection refused/reset, dropped mid-response: the request may or may not have
        # arrived; the vendor's dedup key makes the retry harmless.
        error = TransientDeliveryError(f"{what}: connection failed ({type(exc).__name__})")
        if secret_url:
            raise error from None
        raise error from exc
    status = response.status_code
    if 200 <= status <= 299:
        return response
    detail = _detail(response)
    message = f"{what}: HTTP {status}" + (f": {detail}" if detail else "")
    if 300 <= status <= 399:
        raise PermanentDeliveryError(
            f"{message} (redirect not followed: configure the final URL)", status=status
        )
    if transient(status):
        retry_after = parse_retry_after(
            response.headers.get("retry-after"),
            now=now(),
            date_header=response.headers.get("date"),
        )
        if retry_after is None and status == 429:
            retry_after = default_retry_after
        raise TransientDeliveryError(message, status=status, retry_after_seconds=retry_after)
    raise PermanentDeliveryError(message, status=status)
