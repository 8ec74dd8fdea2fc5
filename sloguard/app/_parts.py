"""The parts of one daemon, built from its configuration (see the package docstring)."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from sloguard.budget import BudgetPolicy
from sloguard.burn import Evaluation
from sloguard.clock import SystemClock
from sloguard.collector import CollectorPause
from sloguard.config import DaemonConfig, RecordedSeriesConfig, StatusPageConfig, load_config
from sloguard.delivery import Deliverer, RetryPolicy
from sloguard.engine import Engine, auto_direct_windows
from sloguard.errors import StoreError
from sloguard.ha import Replica, default_instance_id
from sloguard.lifecycle import LifecyclePolicy
from sloguard.model import SLO, Severity
from sloguard.notify import SEVERITY_FOLLOWERS, build_notifier
from sloguard.notify.heartbeat import Heartbeat, targets
from sloguard.paging import PagingPolicy
from sloguard.ports import Clock, Source
from sloguard.prometheus.client import PrometheusClient
from sloguard.routing import Matcher, Route, Silence
from sloguard.secrets import read_secret
from sloguard.sink import MetricsSink
from sloguard.spec import load_slos
from sloguard.status import Shown
from sloguard.store import AnyStore, PostgresStore, open_store
from sloguard.tick import Evaluate, Tick, TickReport

log = logging.getLogger("sloguard.app")


@dataclass(eq=False)
class Parts:
    """One daemon built from one configuration: its tick, its delivery and the settings the
    supervisor schedules them by (a :class:`~sloguard.supervisor.Daemon`)."""

    tick: Tick
    deliverer: Deliverer
    interval_seconds: float = 30.0
    fast_interval_seconds: float = 0.0  # between fast ticks while SLOs approach a page (0: off)
    jitter_ratio: float = 0.0
    http_listen: str = ""
    status_page: StatusPageConfig | None = None  # the public status page; read at start only
    watched_paths: Sequence[Path] = ()  # the config and SLO files whose change reloads
    integrations: Sequence[str] = ()  # the notifier types in use
    heartbeat: Heartbeat | None = None  # pinged after each successful regular tick
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)  # what aclose() closes

    async def run_tick(self, at: float, *, fast: bool = False) -> TickReport:
        report = await self.tick.run(at, fast=fast)
        if self.heartbeat is not None and not fast and report.outcome.successful:
            self.heartbeat.kick()  # in the background: a slow receiver never delays a tick
        return report

    async def deliver(self) -> float | None:
        """One delivery pass; seconds until the earliest retry falls due, if any."""
        report = await self.deliverer.drain()
        if report.fenced:  # nothing to do until the next tick renews the leases
            return None
        due = self.tick.store.next_due_at()
        return None if due is None else due - self.tick.clock.now()

    def status(self) -> dict[str, Any]:
        return self.tick.shown.status()

    def gate(self, query: Mapping[str, Sequence[str]]) -> tuple[int, dict[str, Any]]:
        return self.tick.shown.gate(query)

    async def once(self, at: float | None = None) -> TickReport:
        """One tick at ``at`` (default: now) and one delivery pass."""
        report = await self.tick.run(self.tick.clock.now() if at is None else at)
        delivery = await self.deliverer.drain()
        return replace(report, delivery=delivery, outbox=self.tick.store.counts())

    async def aclose(self) -> None:
        await self.stack.aclose()


# --- from config to parts ---------------------------------------------------------------------


def paging_policy(config: DaemonConfig) -> PagingPolicy:
    """Routes, silences and lifecycle settings of the config, in the core's types."""
    return PagingPolicy(
        lifecycle=LifecyclePolicy(
            quiet_period_seconds=config.lifecycle.quiet_period_seconds,
            stale_after_seconds=config.lifecycle.stale_after_seconds,
        ),
        routes=tuple(
            Route(
                notifiers=tuple(r.notifiers),
                severities=frozenset(Severity[s] for s in r.match.severity),
                match=Matcher(frozenset(r.match.slos), MappingProxyType(dict(r.match.labels))),
                events=frozenset(r.match.event),
            )
            for r in config.routes
        ),
        budget=BudgetPolicy(
            thresholds_percent=tuple(config.budget.thresholds_percent),
            hysteresis_percent=config.budget.hysteresis_percent,
        ),
        silences=tuple(
            Silence(
                reason=s.reason,
                start=s.start.timestamp(),
                end=s.end.timestamp(),
                match=Matcher(frozenset(s.match.slos), MappingProxyType(dict(s.match.labels))),
            )
            for s in config.silences
        ),
        incident_channels=any(n.type == "slack_app" for n in config.notifiers),
        severity_followers=frozenset(
            n.name for n in config.notifiers if n.type in SEVERITY_FOLLOWERS
        ),
    )


def retry_policy(config: DaemonConfig) -> RetryPolicy:
    d = config.delivery
    return RetryPolicy(
        initial_backoff_seconds=d.initial_backoff_seconds,
        max_backoff_seconds=d.max_backoff_seconds,
        attempt_timeout_seconds=d.attempt_timeout_seconds,
        max_retry_after_seconds=d.max_retry_after_seconds,
        give_up_after_seconds=d.give_up_after_seconds,
    )


def open_state(config: DaemonConfig) -> AnyStore:
    """The state database the config names: SQLite at ``state_path`` or PostgreSQL at
    ``state_url`` (its password read through :mod:`sloguard.secrets`)."""
    password = None
    if config.state_password_file or config.state_password_env:
        password = read_secret(
            file=config.state_password_file,
            env=config.state_password_env,
            what="state_password",
        )
    return open_store(path=config.state_path, url=config.state_url, password=password)


def _release(replica: Replica) -> None:
    """Give the leases back on a clean stop, so a standby takes over at its next tick."""
    try:
        replica.release()
    except StoreError as exc:
        log.warning("could not release the leases (they expire by themselves): %s", exc)


def evaluator(settings: RecordedSeriesConfig, engine: Engine) -> Evaluate:
    """The engine with the config's ``recorded_series`` settings (see docs/config.md); an unset
    ``direct_windows_max_seconds`` reads the paging tiers' short windows directly in fleets of
    up to 500 SLOs (engine.auto_direct_windows)."""
    recorded = settings.mode == "auto"
    explicit = settings.direct_windows_max_seconds

    async def evaluate(slos: Sequence[SLO], source: Source, at: float) -> list[Evaluation]:
        direct_max = explicit if explicit is not None else auto_direct_windows(slos)
        return await engine.evaluate_all(
            slos, source, at, recorded=recorded, direct_windows_max_seconds=direct_max
        )

    return evaluate


@asynccontextmanager
async def open_daemon(
    config: DaemonConfig,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    source: Source | None = None,
    metrics: MetricsSink | None = None,
    config_path: Path | None = None,
    shown: Shown | None = None,
    collector: CollectorPause | None = None,
    instance_id: str | None = None,
) -> AsyncIterator[Parts]:
    """Build every part the config describes; close them all on exit.

    ``source`` replaces the Prometheus client built from the config (the caller closes it);
    ``metrics`` is where the tick and the delivery report (default: nowhere); ``config_path``
    is watched for changes with the SLO files; ``shown`` carries what the status API showed
    over a reload; ``collector`` is the process's one pause of cycle collection (default: a
    new one, for a daemon alone in its process).

    Raises ConfigError (bad SLO files are reported as SpecError, unreadable secrets as
    ConfigError naming the notifier and field) and StoreError before anything is evaluated.
    """
    clock = clock or SystemClock()
    slos = load_slos(config.slo_paths)
    async with AsyncExitStack() as stack:
        store = open_state(config)
        stack.callback(store.close)
        replica = None
        if isinstance(store, PostgresStore):
            replica = Replica(
                store,
                instance_id or default_instance_id(),
                shards=config.ha.shards,
                lease_seconds=config.ha.lease_seconds,
                metrics=metrics,
            )
            stack.callback(_release, replica)
        if source is None:
            client = PrometheusClient(config.prometheus)
            stack.push_async_callback(client.aclose)
            source = client
        http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        stack.push_async_callback(http.aclose)
        notifiers = {
            n.name: build_notifier(n, http, where=config.where(n.name), state=store)
            for n in config.notifiers
        }
        heartbeat = None
        if config.heartbeat is not None:
            heartbeat = Heartbeat(
                http,
                targets(config.heartbeat),
                timeout_seconds=config.heartbeat.timeout_seconds,
                metrics=metrics,
            )
            stack.push_async_callback(heartbeat.aclose)
        deliverer = Deliverer(
            store,
            notifiers,
            clock,
            policy=retry_policy(config),
            rng=rng,
            concurrency=config.delivery.concurrency,
            metrics=metrics,
            shards=replica,
        )
        engine = Engine()  # this daemon's plan memos; a reload builds a new one
        fast_interval = config.fast_path_interval_seconds
        tick = Tick(
            slos=slos,
            source=source,
            evaluate=evaluator(config.recorded_series, engine),
            paging=paging_policy(config),
            store=store,
            clock=clock,
            metrics=metrics,
            evaluate_direct=evaluator(RecordedSeriesConfig(mode="off"), engine),
            fast_path_max_slos=config.fast_path.max_slos if fast_interval > 0 else 0,
            crossed=engine.crossed,
            shown=shown,
            collector=collector or CollectorPause(),
            shards=replica,
        )
        yield Parts(
            tick=tick,
            deliverer=deliverer,
            interval_seconds=config.interval_seconds,
            fast_interval_seconds=fast_interval,
            jitter_ratio=config.interval_jitter_ratio,
            http_listen=config.http.listen,
            status_page=config.status_page,
            watched_paths=[
                *([config_path] if config_path is not None else []),
                *(Path(p) for p in config.slo_paths),
            ],
            integrations=sorted({n.type for n in config.notifiers}),
            heartbeat=heartbeat,
        )


async def load_daemon(
    config_path: str | Path,
    *,
    clock: Clock,
    metrics: MetricsSink,
    rng: random.Random | None = None,
    shown: Shown | None = None,
    collector: CollectorPause | None = None,
    instance_id: str | None = None,
) -> Parts:
    """Read the config and the SLO files and build every part; the located errors of
    ``sloguard validate`` (ConfigError, SpecError) when they are invalid."""
    path = Path(config_path)
    config = load_config(path)
    async with AsyncExitStack() as stack:
        parts = await stack.enter_async_context(
            open_daemon(
                config,
                clock=clock,
                rng=rng,
                metrics=metrics,
                config_path=path,
                shown=shown,
                collector=collector,
                instance_id=instance_id,
            )
        )
        parts.stack = stack.pop_all()
    log.info(
        "configuration loaded: %d SLO(s), %d notifier(s), a tick every %gs",
        len(parts.tick.slos),
        len(config.notifiers),
        config.interval_seconds,
    )
    return parts
