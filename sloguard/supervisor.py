"""The schedule of a daemon: ticks, delivery passes, reload, signals, stop. Nothing else.

The app builds a :class:`Daemon` from one good configuration (its tick, its delivery, the
settings below); :class:`Supervisor` drives it::

    ticker    every interval (with jitter): one tick at one pinned instant (Daemon.run_tick,
              sloguard.tick). A tick still running when the next is due makes that one
              *skipped* and counted, never doubled. While a tick reports SLOs on the fast path
              (about to page, sloguard.fastpath), fast ticks check only their tripwires every
              ``fast_interval_seconds`` in between (and evaluate in full the ones that
              crossed); they never overlap a tick, and a regular tick due during one waits.
    delivery  drains the outbox after every tick and whenever a retry falls due.
    watcher   polls the config and SLO files (mtime, size, inode, symlink target; so a
              Kubernetes ConfigMap update, which swaps the ``..data`` symlink, is seen) and
              reloads on a change; SIGHUP reloads at once. A configuration that fails to load
              is logged with the same located errors as ``sloguard validate`` and the last
              good one keeps running (``sloguard_config_reload_success 0``).
    stop      SIGTERM/SIGINT: no new tick, the running one is cancelled (its commit is atomic,
              so nothing half-written), the delivery pass in flight finishes and one last pass
              sends what the last tick queued, all within ``shutdown_timeout_seconds``; rows not
              sent stay in the outbox and go out after restart. Exit code 0.

The tick and the delivery report their own metrics (sloguard.sink); the supervisor counts
only what happens around them: skipped ticks, ticks that raised, configuration reloads.
Time is injected (:class:`sloguard.ports.Clock`): tests drive the loop on a virtual clock and
take no real time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sloguard.errors import ConfigError, SloguardError, SpecError
from sloguard.filewatch import Fingerprint, fingerprint
from sloguard.ports import Clock
from sloguard.server import Readiness
from sloguard.sink import FastOutcome, MetricsSink, TickOutcome
from sloguard.tick import TickReport

log = logging.getLogger("sloguard.supervisor")
# A tick came due while the previous one still ran. Worth a warning in production (the
# interval is too short for the fleet); the demo counts it instead, since replays compress time.
SKIPPED_TICK_MESSAGE = "previous evaluation still running; skipping this tick"


class Daemon(Protocol):
    """One daemon built from one good configuration, as the supervisor drives it."""

    @property
    def interval_seconds(self) -> float: ...

    @property
    def fast_interval_seconds(self) -> float:
        """Seconds between fast-path ticks while some SLO approaches a page (0: never)."""
        ...

    @property
    def jitter_ratio(self) -> float:
        """Each interval is spread over +/- this share (0..0.5), so replicas de-synchronise."""
        ...

    @property
    def watched_paths(self) -> Sequence[Path]:
        """The config file and the SLO files/directories whose change triggers a reload."""
        ...

    @property
    def http_listen(self) -> str:
        """``HOST:PORT`` of the HTTP endpoint; read at start only (a change needs a restart)."""
        ...

    @property
    def integrations(self) -> Sequence[str]:
        """The notifier types in use (for zero-valued metric series)."""
        ...

    async def run_tick(self, at: float, *, fast: bool = False) -> TickReport:
        """Evaluate every SLO at ``at`` (with ``fast``, only those on the fast path), feed the
        lifecycle, commit state + outbox rows, report the metrics."""
        ...

    async def deliver(self) -> float | None:
        """One delivery pass over the outbox; seconds until the earliest retry, if any."""
        ...

    def status(self) -> Mapping[str, Any]:
        """The body of ``/api/v1/slos``."""
        ...

    def gate(self, query: Mapping[str, Sequence[str]]) -> tuple[int, Mapping[str, Any]]:
        """The HTTP status and body of ``/api/v1/gate`` (sloguard.gate on the last tick)."""
        ...

    async def aclose(self) -> None: ...


Loader = Callable[["Daemon | None"], Awaitable[Daemon]]
"""Builds a Daemon from the configuration on disk; gets the running one (or None at start) so
it can keep what did not change (the store). Raises ConfigError/SpecError with located
problems."""


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    watch_interval_seconds: float = 5.0
    shutdown_timeout_seconds: float = 8.0  # of the 10 s a supervisor usually grants
    max_delivery_wait_seconds: float = 30.0  # poll the outbox at least this often
    readiness_grace_intervals: int = 3


class Supervisor:
    """Runs a Daemon until told to stop. See the module docstring for the tasks."""

    def __init__(
        self,
        loader: Loader,
        *,
        clock: Clock,
        metrics: MetricsSink,
        readiness: Readiness,
        options: SupervisorOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._loader = loader
        self._clock = clock
        self._metrics = metrics
        self._readiness = readiness
        self._options = options or SupervisorOptions()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)  # nosec B311
        self._daemon: Daemon | None = None
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._delivery_kick = asyncio.Event()
        self._tick_task: asyncio.Task[None] | None = None
        self._tick_is_fast = False
        self._fast_due: float | None = None  # monotonic time of the next fast tick, if any
        self._reschedule = asyncio.Event()  # a tick ended: the fast schedule may have changed
        self._delivery_task: asyncio.Task[None] | None = None
        self._swap_lock = asyncio.Lock()
        self._delivery_lock = asyncio.Lock()
        self._fingerprint: Fingerprint = ()
        self.ticks_started = 0
        self.ticks_skipped = 0

    # -- control ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT stop, SIGHUP reloads (on the running loop; Unix only)."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._on_signal, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self._on_signal, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self._on_signal, "SIGHUP")

    def remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)

    def _on_signal(self, name: str) -> None:
        log.info("received %s", name)
        if name == "SIGHUP":
            self.request_reload()
        else:
            self.request_stop()

    async def load_initial(self) -> None:
        """Load the first configuration. Errors propagate: there is no last good one to keep."""
        self._daemon = await self._loader(None)
        self._fingerprint = fingerprint(self._daemon.watched_paths)
        self._configured(self._daemon)

    # -- the main loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`request_stop`; returns once stopped cleanly."""
        if self._daemon is None:
            await self.load_initial()
        ticker = asyncio.create_task(self._ticker(), name="sloguard-ticker")
        watcher = asyncio.create_task(self._watcher(), name="sloguard-watcher")
        delivery = asyncio.create_task(self._deliverer(), name="sloguard-delivery")
        try:
            await self._stop.wait()
        finally:
            log.info("stopping: no new evaluations, finishing deliveries")
            self._stop.set()
            self._readiness.stopping()
            in_flight = [t for t in (ticker, watcher, self._tick_task) if t is not None]
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            await self._finish_deliveries(delivery)
            if self._daemon is not None:
                await self._daemon.aclose()
            log.info("stopped")

    async def _finish_deliveries(self, delivery: asyncio.Task[None]) -> None:
        """Let the pass in flight end and run one more, bounded by the shutdown timeout."""
        budget = self._options.shutdown_timeout_seconds
        self._delivery_kick.set()
        if not await self._within(delivery, budget):
            log.warning(
                "deliveries still running after %.0fs; they stay in the outbox for the next start",
                budget,
            )
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)

    async def _within(self, task: asyncio.Task[None], seconds: float) -> bool:
        """Wait for ``task`` up to ``seconds`` on the injected clock; True when it finished."""
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        return task.done()

    # -- ticker -------------------------------------------------------------------------------

    async def _ticker(self) -> None:
        due = self._clock.monotonic()
        while not self._stop.is_set():
            fast_due = self._fast_due
            await self._sleep_until(due if fast_due is None else min(due, fast_due))
            if self._stop.is_set():
                return
            now = self._clock.monotonic()
            running = self._tick_task is not None and not self._tick_task.done()
            if now >= due:
                if running and self._tick_is_fast and self._tick_task is not None:
                    # A fast tick is short: the regular one waits for it rather than skip.
                    await asyncio.wait({self._tick_task})
                    running = False
                if running:
                    self.ticks_skipped += 1
                    self._metrics.observe_tick(0.0, TickOutcome.SKIPPED, at=self._clock.now())
                    log.warning(SKIPPED_TICK_MESSAGE)
                else:
                    self._start_tick(fast=False)
                due = self._next_due(due)
            elif self._fast_due is not None and now >= self._fast_due:
                self._fast_due = None  # the tick's end sets the next one
                if not running:
                    self._start_tick(fast=True)

    def _start_tick(self, *, fast: bool) -> None:
        if not fast:
            self.ticks_started += 1
        self._tick_is_fast = fast
        self._fast_due = None
        at = self._clock.now()
        self._tick_task = asyncio.create_task(self._tick(at, fast=fast), name="sloguard-tick")

    async def _sleep_until(self, when: float) -> None:
        """Sleep until ``when`` (monotonic), or until a tick ends and may have changed the
        fast schedule."""
        self._reschedule.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(when - self._clock.monotonic()))
        woken = asyncio.ensure_future(self._reschedule.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()

    def _next_due(self, due: float) -> float:
        daemon = self._current()
        jitter = min(max(daemon.jitter_ratio, 0.0), 0.5)
        interval = daemon.interval_seconds * (1.0 + jitter * (2.0 * self._rng.random() - 1.0))
        now = self._clock.monotonic()
        due += interval
        if due < now:  # far behind (the machine was suspended): don't fire a burst
            due = now
        return due

    async def _tick(self, at: float, *, fast: bool = False) -> None:
        try:
            await self._run_tick(at, fast=fast)
        finally:
            self._reschedule.set()

    async def _run_tick(self, at: float, *, fast: bool) -> None:
        async with self._swap_lock:
            daemon = self._current()
            started = self._clock.monotonic()
            try:
                report = await daemon.run_tick(at, fast=fast)
            except asyncio.CancelledError:
                raise
            except Exception:  # the tick boundary: log, count, keep the daemon alive
                log.exception("%s tick failed", "fast-path" if fast else "evaluation")
                if fast:
                    self._metrics.observe_fast_path(FastOutcome.FAILURE, 0)
                else:
                    self._metrics.observe_tick(
                        self._clock.monotonic() - started,
                        TickOutcome.FAILURE,
                        at=self._clock.now(),
                    )
                return
        interval = daemon.fast_interval_seconds
        if interval > 0 and report.fast_path_slos > 0:
            self._fast_due = started + interval
        if fast and not report.slos:  # nothing crossed: nothing evaluated, nothing changed
            return
        if not fast and report.outcome.successful:
            standby = report.shards_held == 0
            self._readiness.tick_succeeded(
                "ok: a standby replica, it holds no shard" if standby else ""
            )
        self._delivery_kick.set()

    # -- delivery -----------------------------------------------------------------------------

    async def _deliverer(self) -> None:
        while not self._stop.is_set():
            wait = await self._deliver_once()
            await self._wait_for_kick(wait)  # a tick, a due retry, or the stop
        await self._deliver_once()  # send what the last tick queued

    async def _deliver_once(self) -> float:
        try:
            async with self._delivery_lock:  # a reload never closes a daemon mid-pass
                due_in = await self._current().deliver()
        except asyncio.CancelledError:
            raise
        except Exception:  # the delivery boundary: rows stay pending; try again later
            log.exception("delivery pass failed")
            return self._options.max_delivery_wait_seconds
        if due_in is None:
            return self._options.max_delivery_wait_seconds
        return min(max(due_in, 0.0), self._options.max_delivery_wait_seconds)

    async def _wait_for_kick(self, seconds: float) -> None:
        if self._delivery_kick.is_set():
            self._delivery_kick.clear()
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        kicked = asyncio.ensure_future(self._delivery_kick.wait())
        try:
            await asyncio.wait({sleeper, kicked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            kicked.cancel()
        self._delivery_kick.clear()

    # -- reload -------------------------------------------------------------------------------

    async def _watcher(self) -> None:
        while not self._stop.is_set():
            sleeper = asyncio.ensure_future(self._clock.sleep(self._options.watch_interval_seconds))
            reload = asyncio.ensure_future(self._reload.wait())
            try:
                await asyncio.wait({sleeper, reload}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                reload.cancel()
            if self._reload.is_set():
                await self._do_reload("SIGHUP")
                continue
            now = fingerprint(self._current().watched_paths)
            if now != self._fingerprint:
                await self._do_reload("a watched file changed", seen=now)

    async def _do_reload(self, why: str, *, seen: Fingerprint | None = None) -> bool:
        """Load the configuration again; keep the running one when the new one is invalid."""
        self._reload.clear()
        current = self._current()
        log.info("reloading the configuration (%s)", why)
        try:
            new = await self._loader(current)
        except (ConfigError, SpecError) as exc:
            for problem in exc.problems:
                log.error("%s", problem)  # FILE:LINE:COLUMN: error: message, as validate says
            self._rejected(seen)
            return False
        except SloguardError as exc:
            log.error("reload failed: %s", exc)
            self._rejected(seen)
            return False
        async with self._swap_lock, self._delivery_lock:  # never under a tick or a pass
            self._daemon = new
        if new is not current:
            await current.aclose()
        self._fingerprint = fingerprint(new.watched_paths)
        self._configured(new)
        log.info("configuration reloaded")
        return True

    def _rejected(self, seen: Fingerprint | None) -> None:
        # Remember the rejected files so a bad edit is reported once, not every poll.
        self._fingerprint = seen if seen is not None else fingerprint(self._current().watched_paths)
        self._metrics.config_reloaded(False, self._clock.now())
        log.error("configuration rejected; the previous configuration keeps running")

    def _configured(self, daemon: Daemon) -> None:
        self._metrics.config_reloaded(True, self._clock.now())
        self._metrics.declare_integrations(daemon.integrations)
        self._readiness.config_loaded(daemon.interval_seconds)

    # -- state for /api/v1/slos ---------------------------------------------------------------

    def snapshot(self) -> Mapping[str, Any]:
        if self._daemon is None:
            return {"evaluated_at": None, "slos": [], "episodes": []}
        return self._daemon.status()

    def gate(self, query: Mapping[str, Sequence[str]]) -> tuple[int, Mapping[str, Any]]:
        """``/api/v1/gate``: 503 until a configuration is loaded (nothing can be known)."""
        if self._daemon is None:
            return 503, {"allowed": False, "reasons": ["no configuration loaded"], "at": None}
        return self._daemon.gate(query)

    @property
    def daemon(self) -> Daemon:
        return self._current()

    def _current(self) -> Daemon:
        if self._daemon is None:
            raise RuntimeError("no configuration loaded")
        return self._daemon


__all__ = ["Daemon", "Loader", "Supervisor", "SupervisorOptions"]
