"""Serving a daemon: its HTTP endpoint and UI, the public status page, and ``sloguard run``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sloguard.app._parts import Parts, load_daemon
from sloguard.burn import Evaluation
from sloguard.clock import ScaledClock, SystemClock
from sloguard.collector import CollectorPause
from sloguard.errors import ConfigError, Location, Problem, SourceUnavailable
from sloguard.metrics import Metrics
from sloguard.model import SLO
from sloguard.ports import Clock, Sample, Series, Source
from sloguard.records import EpisodeRecord
from sloguard.server import HttpServer, Readiness, ServerLimits, Sources, build_app, parse_listen
from sloguard.server.daily import DailyRatios
from sloguard.server.graphs import BurnHistory
from sloguard.server.statuspage import build_status_app
from sloguard.server.ui import Ui
from sloguard.supervisor import Daemon, Loader, Supervisor, SupervisorOptions

log = logging.getLogger("sloguard.app")


class DaemonView:
    """What the web UI reads from the running daemon: the last tick's evaluations and the
    store's episodes (the current configuration's, across reloads)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor

    def _parts(self) -> Parts | None:
        daemon = self._supervisor.daemon
        return daemon if isinstance(daemon, Parts) else None

    def evaluations(self) -> tuple[Sequence[Evaluation], Mapping[str, SLO]]:
        parts = self._parts()
        if parts is None:
            return [], {}
        return parts.tick.shown.evaluations, parts.tick.shown.slos_by_key

    def episodes(self) -> list[EpisodeRecord]:
        parts = self._parts()
        return [] if parts is None else parts.tick.store.episodes()

    def episode(self, episode_id: str) -> EpisodeRecord | None:
        parts = self._parts()
        return None if parts is None else parts.tick.store.episode(episode_id)

    async def query(self, expr: str, at: float) -> list[Sample]:
        return await self._source().query(expr, at)

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """The current configuration's Prometheus (a Source), for the UI's range graphs."""
        return await self._source().query_range(expr, start, end, step)

    def _source(self) -> Source:
        parts = self._parts()
        if parts is None:
            raise SourceUnavailable("no configuration loaded")
        return parts.tick.source


async def serve(
    loader: Loader,
    *,
    clock: Clock,
    metrics: Metrics | None = None,
    options: SupervisorOptions | None = None,
    limits: ServerLimits | None = None,
    install_signals: bool = True,
    on_started: Callable[[Supervisor, tuple[str, int]], None] | None = None,
) -> None:
    """Load the configuration, open the HTTP endpoint and run the daemon until stopped.

    The first load's errors propagate (ConfigError/SpecError with located problems): with no
    good configuration there is nothing to run. ``on_started`` gets the supervisor (to stop or
    reload it without signals) and the bound address.
    """
    metrics = metrics or Metrics()
    opts = options or SupervisorOptions()
    readiness = Readiness(
        clock, interval_seconds=30.0, grace_intervals=opts.readiness_grace_intervals
    )
    supervisor = Supervisor(loader, clock=clock, metrics=metrics, readiness=readiness, options=opts)
    await supervisor.load_initial()
    listen = supervisor.daemon.http_listen
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        await supervisor.daemon.aclose()
        raise ConfigError(Problem(Location("<config>"), f"http.listen: {exc}")) from None
    view = DaemonView(supervisor)
    app = build_app(
        Sources(
            metrics=metrics.render,
            readiness=readiness,
            snapshot=supervisor.snapshot,
            gate=supervisor.gate,
            extra_routes=Ui(view, BurnHistory(view, clock.now)).routes(),
        )
    )
    server = HttpServer(app, limits=limits)
    try:
        await server.start(host, port)
    except OSError as exc:
        await supervisor.daemon.aclose()
        raise ConfigError(
            Problem(Location("<config>"), f"http.listen {listen!r}: cannot listen: {exc.strerror}")
        ) from exc
    bound = server.address
    log.info("listening on http://%s:%d (UI, /metrics, /healthz, /readyz, /api/v1/slos)", *bound)
    public: HttpServer | None = None
    try:
        public = await _start_status_page(supervisor, clock, limits)
        if on_started is not None:
            on_started(supervisor, bound)
        if install_signals:
            supervisor.install_signal_handlers()
        await supervisor.run()
    finally:
        if install_signals:
            supervisor.remove_signal_handlers()
        await server.stop()
        if public is not None:
            await public.stop()


async def _start_status_page(
    supervisor: Supervisor, clock: Clock, limits: ServerLimits | None
) -> HttpServer | None:
    """The public status page on its own listener, when the configuration asks for one."""
    daemon = supervisor.daemon
    settings = daemon.status_page if isinstance(daemon, Parts) else None
    if settings is None:
        return None
    view = DaemonView(supervisor)
    app = build_status_app(
        view,
        title=settings.title,
        severity_status={str(k): str(v) for k, v in settings.severity_status.items()},
        now=clock.now,
        daily=DailyRatios(view),
    )
    public = HttpServer(app, limits=limits)
    try:
        await public.start(*parse_listen(settings.listen))
    except OSError as exc:
        await daemon.aclose()
        raise ConfigError(
            Problem(
                Location("<config>"),
                f"status_page.listen {settings.listen!r}: cannot listen: {exc.strerror}",
            )
        ) from exc
    log.info("status page on http://%s:%d", *public.address)
    return public


async def run_daemon(
    config_path: str | Path,
    *,
    clock: Clock | None = None,
    options: SupervisorOptions | None = None,
    on_started: Callable[[Supervisor, tuple[str, int]], None] | None = None,
    instance_id: str | None = None,
) -> None:
    """``sloguard run``: serve until SIGTERM/SIGINT, reload on SIGHUP or a file change.

    With a :class:`~sloguard.clock.ScaledClock` the schedule runs faster, but file polling and
    the shutdown deadline stay in real seconds (5 s and 8 s)."""
    clock = clock or SystemClock()
    if options is None:
        speed = clock.speed if isinstance(clock, ScaledClock) else 1.0
        options = SupervisorOptions(
            watch_interval_seconds=5.0 * speed,
            shutdown_timeout_seconds=8.0 * speed,
            max_delivery_wait_seconds=30.0 * speed,
        )
    metrics = Metrics()
    collector = CollectorPause()  # one per process: the old and new ticks of a reload share it
    ticking: Clock = clock

    async def loader(previous: Daemon | None) -> Daemon:
        # What the status API showed stays shown until the new parts' first tick.
        shown = previous.tick.shown if isinstance(previous, Parts) else None
        return await load_daemon(
            config_path,
            clock=ticking,
            metrics=metrics,
            shown=shown,
            collector=collector,
            instance_id=instance_id,
        )

    await serve(loader, clock=clock, metrics=metrics, options=options, on_started=on_started)
