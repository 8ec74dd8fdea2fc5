"""An async client for the Prometheus HTTP API: the :class:`sloguard.ports.Source` port.

* Every query carries an explicit ``time=`` (or ``start/end/step``), so all windows of all SLOs
  of one evaluation are read at the same instant.
* Transient failures (connect errors, timeouts, 5xx, 429) are retried with exponential backoff
  and jitter, honouring ``Retry-After``; everything else fails at once. After the last attempt
  they surface as :class:`SourceUnavailable`; refusals (4xx, PromQL errors, odd shapes) as
  :class:`QueryError`. Messages carry the query, never a credential.
* Credentials come from a file (re-read per request, so rotated tokens are picked up) or an
  environment variable, never from the config itself. TLS is verified unless told otherwise.
* Redirects are followed only on the same host (an auth header must not leak elsewhere).
* At most ``max_concurrency`` requests are in flight per client.
"""

from __future__ import annotations

import asyncio
import base64
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from sloguard import __version__
from sloguard.durations import parse_retry_after
from sloguard.errors import ConfigError, Location, Problem, QueryError, SourceUnavailable
from sloguard.ports import QUERY_TENANT, BySlothId, Sample, Series, by_sloth_id, label_values
from sloguard.prometheus.bulk import instant_by_sloth_id, instant_label_values
from sloguard.prometheus.config import TENANT_HEADER, PrometheusConfig
from sloguard.secrets import read_secret

BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 5.0
MAX_RETRY_AFTER_SECONDS = 30.0  # a longer Retry-After is not worth holding an evaluation for
MAX_REDIRECTS = 3
_QUERY_IN_MESSAGE = 240

Sleep = Callable[[float], Awaitable[None]]


class _RateLimited(SourceUnavailable):
    """429: retried after the server's ``Retry-After`` when it gives one."""

    def __init__(self, message: str, *, query: str, retry_after_seconds: float | None) -> None:
        super().__init__(message, query=query)
        self.retry_after_seconds = retry_after_seconds


def _short(expr: str) -> str:
    one_line = " ".join(expr.split())
    if len(one_line) > _QUERY_IN_MESSAGE:
        return one_line[: _QUERY_IN_MESSAGE - 3] + "..."
    return one_line


def _display_url(url: httpx.URL) -> str:
    """The URL without user:password, query or fragment: safe for messages and logs."""
    return str(url.copy_with(userinfo=b"", query=None, fragment=None))


def parse_value(raw: object, expr: str) -> float:
    """A Prometheus sample value: a string such as ``"0.5"``, ``"NaN"``, ``"+Inf"``."""
    if not isinstance(raw, str):
        raise QueryError(f"unexpected sample value {raw!r} (query: {_short(expr)})", query=expr)
    try:
        return float(raw)
    except ValueError:
        raise QueryError(
            f"unexpected sample value {raw!r} (query: {_short(expr)})", query=expr
        ) from None


def _labels(raw: object, expr: str) -> dict[str, str]:
    # The dict is the one just decoded from the answer, owned by nobody else: kept, not copied.
    if isinstance(raw, dict):
        for k, v in raw.items():
            if not isinstance(k, str) or not isinstance(v, str):
                break
        else:
            return raw
    raise QueryError(f"unexpected series labels {raw!r} (query: {_short(expr)})", query=expr)


def _point(raw: object, expr: str) -> tuple[float, float]:
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[0], int | float):
        raise QueryError(f"unexpected sample {raw!r} (query: {_short(expr)})", query=expr)
    return float(raw[0]), parse_value(raw[1], expr)


def _sample(item: object, expr: str) -> Sample:
    if not isinstance(item, dict):
        raise QueryError(f"unexpected vector item (query: {_short(expr)})", query=expr)
    _, value = _point(item.get("value"), expr)
    return Sample(labels=_labels(item.get("metric", {}), expr), value=value)


def _vector(result: list[Any], expr: str) -> list[Sample]:
    out: list[Sample] = []
    append = out.append
    for item in result:
        # The usual shape is checked inline, as this runs for every series of every answer
        # (170,000 per tick at 10,000 SLOs in recorded mode); anything else goes through
        # _sample, which accepts the same and names what is wrong.
        if type(item) is dict:
            point, labels = item.get("value"), item.get("metric")
            if (
                type(point) is list
                and len(point) == 2
                and type(point[1]) is str
                and type(point[0]) in (float, int)
                and type(labels) is dict
            ):
                for k, v in labels.items():
                    if type(k) is not str or type(v) is not str:
                        break
                else:
                    try:
                        append(Sample(labels, float(point[1])))
                        continue
                    except ValueError:
                        pass
        append(_sample(item, expr))
    return out


def parse_instant(data: Mapping[str, Any], expr: str) -> list[Sample]:
    """``data`` of an instant query: a vector, or a scalar as one label-less sample."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "vector" and isinstance(result, list):
        return _vector(result, expr)
    if kind == "scalar":
        _, value = _point(result, expr)
        return [Sample(labels={}, value=value)]
    raise QueryError(
        f"expected an instant vector or scalar, got {kind!r} (query: {_short(expr)})", query=expr
    )


def parse_range(data: Mapping[str, Any], expr: str) -> list[Series]:
    kind, result = data.get("resultType"), data.get("result")
    if kind != "matrix" or not isinstance(result, list):
        raise QueryError(f"expected a matrix, got {kind!r} (query: {_short(expr)})", query=expr)
    out = []
    for item in result:
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise QueryError(f"unexpected matrix item (query: {_short(expr)})", query=expr)
        points = [_point(p, expr) for p in item["values"]]
        out.append(Series(labels=_labels(item.get("metric", {}), expr), points=points))
    return out


# Where a credential error points: the Prometheus connection, configured by file or flags.
_WHERE = Location("<prometheus>")


class PrometheusClient:
    """The Prometheus :class:`~sloguard.ports.Source`. Use as ``async with`` or call
    :meth:`aclose`. ``transport`` lets tests plug in an :class:`httpx.MockTransport`; ``sleep``
    lets them observe backoff without waiting."""

    def __init__(
        self,
        config: PrometheusConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.config = config
        self._sleep: Sleep = sleep or asyncio.sleep
        self._semaphore = asyncio.Semaphore(config.max_concurrency)
        self._auth_header()  # fail fast on unreadable credentials (ConfigError)
        verify: ssl.SSLContext | bool = True
        if config.insecure_skip_verify:
            verify = False
        elif config.ca_file:
            try:
                verify = ssl.create_default_context(cafile=config.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    Problem(
                        _WHERE,
                        f"ca_file: cannot load {config.ca_file!r} as a PEM bundle: {exc}",
                        field="ca_file",
                    )
                ) from None
        self._http = httpx.AsyncClient(
            base_url=config.url.rstrip("/") + "/",
            transport=transport,
            verify=verify,
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=False,
            headers={
                "User-Agent": f"sloguard/{__version__}",
                **config.headers,
                **config.tenant_headers(),
            },
            trust_env=False,
        )
        self.display_url = _display_url(self._http.base_url)
        self._params = config.query_params()  # Thanos' partial_response / dedup, if set

    @staticmethod
    def display(config: PrometheusConfig) -> str:
        """``config.url`` without credentials, for messages and logs."""
        return _display_url(httpx.URL(config.url))

    async def __aenter__(self) -> PrometheusClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- the Source port ----

    async def query(self, expr: str, at: float) -> list[Sample]:
        """Instant query at unix time ``at``."""
        data = await self._instant(expr, at)
        return parse_instant(data, expr)

    async def query_by_sloth_id(
        self, expr: str, at: float, sids: Mapping[str, str], grouped: Set[str]
    ) -> BySlothId:
        """Instant query at ``at``, its series by ``sloth_id`` (see
        :class:`~sloguard.ports.BulkSource`)."""
        data = await self._instant(expr, at)
        got = instant_by_sloth_id(data, sids, grouped)
        return got if got is not None else by_sloth_id(parse_instant(data, expr), sids, grouped)

    async def query_label_values(
        self, expr: str, at: float, names: Sequence[str]
    ) -> set[tuple[str, ...]]:
        """Instant query at ``at``: the values its series' labels ``names`` take (see
        :class:`~sloguard.ports.LabelSource`)."""
        data = await self._instant(expr, at)
        got = instant_label_values(data, names)
        return got if got is not None else label_values(parse_instant(data, expr), names)

    async def _instant(self, expr: str, at: float) -> Any:
        """The ``data`` of Prometheus's answer to the instant query ``expr`` at ``at``: what
        :meth:`query`, :meth:`query_by_sloth_id` and :meth:`query_label_values` each read."""
        return await self._call("api/v1/query", {"query": expr, "time": _ts(at)}, expr)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """Range query from ``start`` to ``end`` (unix seconds) every ``step`` seconds."""
        form = {"query": expr, "start": _ts(start), "end": _ts(end), "step": _ts(step)}
        data = await self._call("api/v1/query_range", form, expr)
        return parse_range(data, expr)

    # ---- internals ----

    def _auth_header(self) -> dict[str, str]:
        c = self.config
        if c.bearer_token_file or c.bearer_token_env:
            token = read_secret(
                file=c.bearer_token_file, env=c.bearer_token_env, what="bearer_token", where=_WHERE
            )
            return {"Authorization": f"Bearer {token.get_secret_value()}"}
        if c.basic_auth is not None:
            password = read_secret(
                file=c.basic_auth.password_file,
                env=c.basic_auth.password_env,
                what="basic_auth.password",
                where=_WHERE,
            )
            raw = f"{c.basic_auth.username}:{password.get_secret_value()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {}

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RateLimited) and exc.retry_after_seconds is not None:
            return float(exc.retry_after_seconds)
        exponent: int = state.attempt_number - 1
        backoff: float = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2.0**exponent)
        return backoff * (1.0 + random.uniform(0.0, 0.2))  # noqa: S311 (jitter)  # nosec B311

    async def _call(self, path: str, form: dict[str, str], expr: str) -> Mapping[str, Any]:
        form = {**form, "timeout": f"{self.config.timeout_seconds:g}s", **self._params}
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.retries + 1),
            retry=retry_if_exception_type(SourceUnavailable),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with self._semaphore:
                    return await self._once(path, form, expr)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _once(self, path: str, form: dict[str, str], expr: str) -> Mapping[str, Any]:
        url = self._http.base_url.join(path)
        try:
            headers = self._auth_header()
        except ConfigError as exc:
            raise QueryError(f"{self.display_url}: {exc}", query=expr) from None
        tenant = QUERY_TENANT.get()
        if tenant is not None:  # an SLO's own tenant, over the connection's
            headers[TENANT_HEADER] = tenant
        for _ in range(MAX_REDIRECTS + 1):
            try:
                resp = await self._http.post(url, data=form, headers=headers)
            except httpx.TimeoutException as exc:
                raise SourceUnavailable(
                    self._msg(f"no answer within {self.config.timeout_seconds:g}s", expr),
                    query=expr,
                ) from exc
            except httpx.TransportError as exc:
                if _is_tls_verification(exc):
                    raise QueryError(
                        self._msg("TLS verification failed (set ca_file to its CA)", expr),
                        query=expr,
                    ) from exc
                raise SourceUnavailable(
                    self._msg(f"cannot connect: {type(exc).__name__}: {exc}", expr), query=expr
                ) from exc
            try:
                if not resp.is_redirect:
                    return self._decode(resp, expr)
                url = self._redirect_target(url, resp, expr)
            finally:
                _release(resp)
        raise QueryError(self._msg(f"more than {MAX_REDIRECTS} redirects", expr), query=expr)

    def _redirect_target(self, url: httpx.URL, resp: httpx.Response, expr: str) -> httpx.URL:
        target = url.join(resp.headers.get("Location", ""))
        if (target.host, target.port) != (url.host, url.port) or target.scheme not in (
            url.scheme,
            "https",
        ):
            raise QueryError(
                self._msg(
                    f"HTTP {resp.status_code} redirect to another host "
                    f"({_display_url(target)}); refusing to send credentials there: "
                    "point the URL at the final address",
                    expr,
                ),
                query=expr,
            )
        return target

    def _msg(self, what: str, expr: str) -> str:
        return f"Prometheus {self.display_url}: {what} (query: {_short(expr)})"

    def _decode(self, resp: httpx.Response, expr: str) -> Mapping[str, Any]:
        status = resp.status_code
        # Prometheus's error text is only read from an error's body: a successful answer is
        # decoded once, below (at 10,000 SLOs each recorded answer is megabytes of JSON).
        detail = _error_detail(resp) if status >= 400 else ""
        if status == 429:
            after = parse_retry_after(resp.headers.get("Retry-After"), now=time.time())
            if after is not None and after > MAX_RETRY_AFTER_SECONDS:
                raise QueryError(
                    self._msg(f"HTTP 429, asked to retry after {after:.0f}s; giving up", expr),
                    query=expr,
                )
            raise _RateLimited(
                self._msg(f"HTTP 429 Too Many Requests{detail}", expr),
                query=expr,
                retry_after_seconds=after,
            )
        if status >= 500:
            raise SourceUnavailable(self._msg(f"HTTP {status}{detail}", expr), query=expr)
        if status in (401, 403):
            raise QueryError(
                self._msg(f"HTTP {status}: check the bearer token or basic auth{detail}", expr),
                query=expr,
            )
        if status == 404:
            raise QueryError(
                self._msg("HTTP 404: is the URL the Prometheus base URL (without /api/v1)?", expr),
                query=expr,
            )
        if status >= 400:
            raise QueryError(self._msg(f"HTTP {status}{detail}", expr), query=expr)
        if status != 200:
            raise QueryError(self._msg(f"unexpected HTTP {status}", expr), query=expr)
        try:
            body = _json(resp)
        except ValueError:
            raise QueryError(self._msg("the answer is not JSON", expr), query=expr) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            raise QueryError(self._msg(f"query failed{_error_detail(resp)}", expr), query=expr)
        data = body.get("data")
        if not isinstance(data, dict):
            raise QueryError(self._msg("the answer has no data", expr), query=expr)
        return data


def _release(resp: httpx.Response) -> None:
    """Break the reference cycle httpx makes of a read response and its stream (each holds the
    other), so reference counting frees the answer's bytes (1-2 MB at 10,000 SLOs) at once:
    the daemon pauses the cycle collector while a tick runs (sloguard.collector), so until
    the tick ended its 15 answers would all stay in memory."""
    resp.stream = httpx.ByteStream(b"")


def _ts(seconds: float) -> str:
    return f"{seconds:.3f}"


def _json(resp: httpx.Response) -> Any:
    """The body of ``resp`` decoded as JSON (UTF-8, as Prometheus sends it); ValueError when it
    is not. orjson rather than the standard library: at 10,000 SLOs a tick decodes 17 answers of
    1-2 MB, and orjson takes about 60 % of the time json.loads does (and shares equal keys)."""
    return orjson.loads(resp.content)  # orjson.JSONDecodeError is a ValueError


def _error_detail(resp: httpx.Response) -> str:
    """Prometheus's own ``errorType: error`` from a JSON error body, if there is one."""
    try:
        body = _json(resp)
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        kind = body.get("errorType")
        prefix = f"{kind}: " if isinstance(kind, str) else ""
        return f": {prefix}{body['error'][:500]}"
    return ""


def _is_tls_verification(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["PrometheusClient", "parse_instant", "parse_range", "parse_value"]
