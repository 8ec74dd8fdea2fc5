"""The dead man's switch: a ping after each successful tick, so someone hears when sloguard stops.

Two kinds of target, either or both:

- a plain URL (healthchecks.io, Cronitor, Uptime Kuma style): ``GET`` or ``POST`` with an
  empty body; any 2xx is a success. The URL often holds the check's secret token, so it may come
  from ``url_file``/``url_env``.
- Opsgenie's Heartbeat API: ``GET {base}/v2/heartbeats/{name}/ping`` with
  ``Authorization: GenieKey KEY`` (Opsgenie answers 202 ``PONG - Heartbeat received``; the
  heartbeat itself, its interval and who is alerted when it expires are set up in Opsgenie).

:meth:`Heartbeat.kick` never blocks the tick: it starts the pings in the background (one round
at a time; a kick while a round is in flight is dropped) with a short timeout. A failed ping is
logged and counted (``sloguard_heartbeat_pings_total{target,outcome}``), never raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sloguard.errors import Location
from sloguard.secrets import read_secret
from sloguard.sink import MetricsSink, NoMetrics

log = logging.getLogger("sloguard.heartbeat")


class OpsgenieHeartbeatConfig(BaseModel):
    """``heartbeat.opsgenie``: the heartbeat's name as created in Opsgenie and an API key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    api_key_file: str | None = None
    api_key_env: str | None = None
    url: str = Field(default="https://api.opsgenie.com", pattern=r"^https?://")


class HeartbeatConfig(BaseModel):
    """``heartbeat:``: where to ping after each successful tick (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(default=None, pattern=r"^https?://")
    url_file: str | None = None
    url_env: str | None = None
    method: Literal["GET", "POST"] = "GET"
    opsgenie: OpsgenieHeartbeatConfig | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _one_target_at_least(self) -> HeartbeatConfig:
        urls = [x for x in (self.url, self.url_file, self.url_env) if x]
        if len(urls) > 1:
            raise ValueError("give one of url, url_file and url_env")
        if not urls and self.opsgenie is None:
            raise ValueError("give a url (or url_file, url_env) and/or opsgenie")
        return self


@dataclass(frozen=True, slots=True)
class Target:
    """One ping: a bounded metric label, the method, the URL and headers."""

    name: Literal["url", "opsgenie"]
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


def targets(config: HeartbeatConfig, where: Location | None = None) -> list[Target]:
    """The pings ``config`` asks for, secrets read (ConfigError naming the field otherwise)."""
    out: list[Target] = []
    url = config.url
    if url is None and (config.url_file or config.url_env):
        url = read_secret(
            file=config.url_file, env=config.url_env, what="heartbeat: url", where=where
        ).get_secret_value()
    if url is not None:
        out.append(Target("url", config.method, url))
    og = config.opsgenie
    if og is not None:
        key = read_secret(
            file=og.api_key_file,
            env=og.api_key_env,
            what="heartbeat.opsgenie: api_key",
            where=where,
        ).get_secret_value()
        ping = f"{og.url.rstrip('/')}/v2/heartbeats/{quote(og.name, safe='')}/ping"
        out.append(Target("opsgenie", "GET", ping, (("Authorization", f"GenieKey {key}"),)))
    return out


class Heartbeat:
    """Pings every target after a successful tick, in the background (see the module)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        pings: Sequence[Target],
        *,
        timeout_seconds: float = 5.0,
        metrics: MetricsSink | None = None,
    ) -> None:
        self.http = http
        self.pings = list(pings)
        self.timeout_seconds = timeout_seconds
        self.metrics: MetricsSink = metrics or NoMetrics()
        self._round: asyncio.Task[None] | None = None

    def kick(self) -> None:
        """Start a round of pings unless one is still in flight; returns at once."""
        if self._round is None or self._round.done():
            self._round = asyncio.create_task(self.ping_all())

    async def ping_all(self) -> None:
        await asyncio.gather(*(self._ping(t) for t in self.pings))

    async def _ping(self, target: Target) -> None:
        try:
            response = await self.http.request(
                target.method,
                target.url,
                headers=dict(target.headers),
                timeout=self.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            # Only the type: the URL may carry the check's token.
            self._failed(target, type(exc).__name__)
            return
        if response.is_success:
            self.metrics.count_heartbeat(target.name, ok=True)
        else:
            self._failed(target, f"HTTP {response.status_code}")

    def _failed(self, target: Target, why: str) -> None:
        log.warning("heartbeat ping to %s failed: %s", target.name, why)
        self.metrics.count_heartbeat(target.name, ok=False)

    async def aclose(self) -> None:
        """Wait for the round in flight (bounded by its timeout) so none is cut mid-request."""
        if self._round is not None:
            await asyncio.gather(self._round, return_exceptions=True)
