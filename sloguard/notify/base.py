"""What every notifier shares: the fields of its config (:class:`NotifierConfigBase`) and the
tail of its constructor, its rate limit, ``repr``, clock, HTTP call and per-episode memory
(:class:`HttpNotifier`). The record a notifier delivers is
:class:`sloguard.records.Notification`; the port it implements is :class:`sloguard.ports.Notifier`.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from sloguard.errors import TransientDeliveryError
from sloguard.notify import _http
from sloguard.ports import MemoryNotifierState, NotifierState
from sloguard.records import Kind, Notification


class NotifierConfigBase(BaseModel):
    """Fields every notifier config has. Subclasses add ``type: Literal[...]`` and their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$", max_length=63)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


ConfigT = TypeVar("ConfigT", bound=NotifierConfigBase)


def rate_limit_bucket(integration: str, credential: str) -> str:
    """The rate-limit bucket of the deliveries that share ``credential`` (a key, a token, a
    URL): the integration and a short hash, never the credential itself, which would end up
    in logs and metrics."""
    return f"{integration}:" + hashlib.sha256(credential.encode()).hexdigest()[:12]


class HttpNotifier(ABC, Generic[ConfigT]):
    """The parts of a :class:`sloguard.ports.Notifier` that do not depend on the vendor.

    A subclass sets ``integration`` and, where its contract documents them,
    ``rate_limit_per_minute`` (the budget of one :attr:`rate_limit_key`) and
    ``retry_after_429_seconds`` (the wait to hint on a 429 without ``Retry-After``); overrides
    :meth:`_transient` where its contract's retry rule is not :func:`_http.vendor_transient`;
    sets ``follows_severity_down`` when its contract can lower an open incident (a channel
    message, a status-page update, a ticket comment; the pagers cannot); and writes
    :meth:`_deliver`.
    """

    integration: str  # a bounded metric label, e.g. "pagerduty"
    rate_limit_key: str | None  # a hash of the credential (rate_limit_bucket), or no limit
    rate_limit_per_minute: int | None = None
    retry_after_429_seconds: float | None = None
    follows_severity_down: ClassVar[bool] = False

    def __init__(
        self,
        config: ConfigT,
        client: httpx.AsyncClient,
        *,
        secrets: Iterable[str | None] = (),
        secret_url: str | None = None,
        rate_limit_on: str | None = None,
        shown: Mapping[str, str] | None = None,
        state: NotifierState | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """``secrets`` (and ``secret_url``, the URL every call goes to when it is a
        credential) are redacted from logs and errors from now on. Deliveries whose
        ``rate_limit_on`` is the same share one rate limit; None: no limit of ours, the
        vendor's 429 says when. ``shown`` is what ``repr`` shows besides the name (never a
        secret). ``state`` is the per-episode memory of a notifier making several calls for
        one notification (default: in memory; the single-call notifiers never use it).
        ``now`` is the wall clock the vendor sees (unix seconds): a webhook's signed timestamp,
        a ``Retry-After`` date; injected so tests take no real time."""
        self.name = config.name
        self._config = config
        self._client = client
        self._url_is_secret = secret_url is not None
        self._shown = dict(shown or {})
        self._now = now
        self._state: NotifierState = state if state is not None else MemoryNotifierState()
        self.rate_limit_key = (
            None if rate_limit_on is None else rate_limit_bucket(self.integration, rate_limit_on)
        )
        for secret in secrets:
            if secret:
                _http.register_secret(secret)
        if secret_url is not None:
            _http.register_secret(secret_url, is_url=True)

    async def send(self, notification: Notification) -> None:
        """Deliver ``notification``, or raise Transient/PermanentDeliveryError. A pager given a
        de-escalation does nothing: routing never sends it one (``notify.SEVERITY_FOLLOWERS``),
        and should a row ever reach it, "less" must not read as a fresh page."""
        if notification.kind is Kind.DEESCALATED and not self.follows_severity_down:
            return
        await self._deliver(notification)

    @abstractmethod
    async def _deliver(self, notification: Notification) -> None:
        """What ``send`` does with a notification this integration hears."""

    def __repr__(self) -> str:
        shown = "".join(f", {key}={value!r}" for key, value in self._shown.items())
        return f"{type(self).__name__}(name={self.name!r}{shown})"

    def _transient(self, status: int) -> bool:
        """Whether an HTTP ``status`` is worth retrying (the vendor's documented rule)."""
        return _http.vendor_transient(status)

    async def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call to the vendor (:func:`_http.call`) with this notifier's client, timeout,
        retry rule and 429 hint; ``what`` (no secrets) follows the integration and the name
        in messages."""
        return await _http.call(
            self._client,
            method,
            url,
            what=f"{self.integration} {self.name!r} {what}",
            timeout_seconds=self._config.timeout_seconds,
            transient=self._transient,
            json=json,
            content=content,
            headers=headers,
            params=params,
            default_retry_after=self.retry_after_429_seconds,
            secret_url=self._url_is_secret,
            now=self._now,
        )

    def _json(self, response: httpx.Response, what: str) -> Any:
        """The JSON of a vendor's answer. A 2xx that is not JSON (a proxy's login page, a
        captive portal) is worth retrying and says whose answer it was."""
        try:
            return response.json()
        except ValueError:
            raise TransientDeliveryError(
                f"{self.integration} {self.name!r} {what}: the answer is not JSON",
                status=response.status_code,
            ) from None

    def _load(self, n: Notification) -> dict[str, Any]:
        """What this notifier did so far for ``n``'s episode."""
        return self._state.notifier_state(self.name, n.episode_id)

    def _save(self, n: Notification, state: Mapping[str, Any]) -> None:
        """Remember ``state`` for ``n``'s episode, as soon as the vendor accepted a step."""
        self._state.save_notifier_state(self.name, n.episode_id, state, n.at)
