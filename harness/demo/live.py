"""Run the demo: Prometheus with the story's history, the four receivers, ``sloguard run`` as a
subprocess replaying the night, and a live view of it all; then stop everything and check
that the story happened (exit 0), so the demo doubles as a smoke test.

Every piece listens on 127.0.0.1 on a kernel-chosen port and lives in one temporary directory.
Ctrl-C (or SIGTERM, SIGHUP) stops the daemon (SIGTERM), the receivers and Prometheus, and
removes the directory; a second Ctrl-C during that cleanup is ignored, so nothing is orphaned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import shutil
import signal
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import click

import sloguard
from harness.demo import story
from harness.demo.checks import Outcome, check_story, summary_lines
from harness.demo.view import Places, arrival_lines, daemon_line, intro, still, table, where
from harness.promserver import PrometheusServer, backfill, start_prometheus
from harness.receivers import (
    Arrival,
    OpsgenieReceiver,
    PagerDutyReceiver,
    Receiver,
    SlackReceiver,
    WebhookReceiver,
)
from harness.receivers.__main__ import (
    DEMO_GENIE_KEY,
    DEMO_ROUTING_KEY,
    DEMO_WEBHOOK_SECRET,
)
from sloguard.clock import ScaledClock
from sloguard.config import load_config
from sloguard.durations import iso_time
from sloguard.engine import Engine
from sloguard.errors import SloguardError
from sloguard.model import Severity
from sloguard.prometheus import PrometheusClient
from sloguard.spec import load_slos
from sloguard.supervisor import SKIPPED_TICK_MESSAGE

DEFAULT_SPEED = 30.0  # ~45 minutes of the night in ~90 seconds: one tick per second
QUICK_SPEED = 120.0  # for tests: a tick every 0.25 s
START_TIMEOUT_SECONDS = 30.0  # real seconds for the daemon to start replaying
STOP_TIMEOUT_SECONDS = 15.0  # real seconds for the daemon to exit on SIGTERM
LINGER_SECONDS = 90  # story seconds to keep watching after the last expected delivery
HOLD_SECONDS = 0.5  # real seconds a line is held so that lines can be put in story order
HEARTBEAT_SECONDS = 300  # a one-line reminder after 5 story minutes without a change
_REPLAYING = re.compile(r"replaying from \S+ \((?P<start>[\d.]+)\) at (?P<speed>[\d.]+)x speed")


_FIRST_TABLE = "the replay starts: how fast each SLO burns its error budget"


class Stopped(Exception):
    """A signal asked the demo to stop."""


@dataclass(slots=True)
class Receivers:
    pagerduty: PagerDutyReceiver
    opsgenie: OpsgenieReceiver
    webhook: WebhookReceiver
    slack: SlackReceiver

    def all(self) -> tuple[Receiver, ...]:
        return (self.pagerduty, self.opsgenie, self.webhook, self.slack)


@dataclass(slots=True)
class DaemonProcess:
    """The ``sloguard run`` subprocess and what its log said."""

    process: subprocess.Popen[str]
    command: list[str]
    reader: threading.Thread | None = None
    anchor: tuple[float, float] | None = None  # (wall-clock unix time, story time) of the start
    speed: float = 1.0
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (story time, rec)
    problems: list[str] = field(default_factory=list)  # warnings, errors, non-JSON lines
    ticks_skipped: int = 0

    def story_time(self, wall: float) -> float:
        """The daemon's replayed time at wall-clock instant ``wall``."""
        assert self.anchor is not None
        real, start = self.anchor
        return start + (wall - real) * self.speed


class Demo:
    def __init__(self, *, speed: float, keep: bool, echo: Callable[[str], None]) -> None:
        self.speed = speed
        self.keep = keep
        self.echo = echo
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.stop_requested = ""  # the name of the signal that asked to stop
        self.in_loop = False
        self.work: Path | None = None
        self.held: list[tuple[float, int, float, list[str]]] = []  # (story time, n, received, ..)
        self.shown = 0

    # --- signals ----------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = signal.Signals(signum).name
        if not self.in_loop:  # the async loop polls the flag; elsewhere, unwind right now
            raise Stopped(self.stop_requested)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        for s in sigs:
            signal.signal(s, self._on_signal)
        try:
            yield
        finally:
            # Cleanup runs after this block's body; it must not be cut short by another Ctrl-C.
            for s in sigs:
                signal.signal(s, signal.SIG_IGN)

    def run(self) -> int:
        sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        saved = {s: signal.getsignal(s) for s in sigs}
        started = time.monotonic()
        try:
            with ExitStack() as stack, self._signals():
                outcome = self._run(stack)
            # Everything is stopped and removed by now: the summary can say so.
            checks = check_story(outcome)
            for line in summary_lines(outcome, checks, keep=self.work if self.keep else None):
                self.echo(line)
            return 0 if all(c.ok for c in checks) else 1
        except Stopped as why:
            self._flush(final=True)
            self.echo(f"\nstopped ({why}): everything the demo started is stopped and removed.")
            return 130
        except (SloguardError, OSError, RuntimeError) as exc:
            self.echo(click.style(f"\ndemo failed: {exc}", fg="red"))
            return 1
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)
            self.echo(click.style(f"(the demo took {time.monotonic() - started:.0f} s)", dim=True))

    # --- the pieces -------------------------------------------------------------------------
    def _run(self, stack: ExitStack) -> Outcome:
        missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
        if missing:
            raise RuntimeError(
                f"{' and '.join(missing)} not found: `make demo` installs Debian's prometheus "
                "package, or: apt-get install --no-install-recommends prometheus"
            )
        work = Path(tempfile.mkdtemp(prefix="sloguard-demo-"))
        self.work = work
        if not self.keep:
            stack.callback(shutil.rmtree, work, True)
        self._intro()
        prometheus = self._prometheus(work, stack)
        receivers = self._receivers(stack)
        config = self._write_files(work, prometheus, receivers)
        self._where(work, prometheus, receivers, config)
        daemon = self._start_daemon(config, work, stack)
        why = self._watch(daemon, config, receivers)
        code = self._stop_daemon(daemon)
        self._drain(daemon, final=True)
        return Outcome(
            events=[(at, dict(r)) for at, r in daemon.events],
            pagerduty=receivers.pagerduty,
            opsgenie=receivers.opsgenie,
            webhook=receivers.webhook,
            slack=receivers.slack,
            daemon_exit=code,
            daemon_problems=list(daemon.problems),
            ended=why,
        )

    def _prometheus(self, work: Path, stack: ExitStack) -> PrometheusServer:
        self._say(
            "building Prometheus's history: 31 days of four services, backfilled with promtool"
        )
        data = story.history()
        started = time.monotonic()
        blocks = backfill(data, work / "prometheus" / "data")
        server = start_prometheus(
            work / "prometheus" / "data", work / "prometheus", owns_workdir=False
        )
        stack.callback(server.stop)
        self._say(
            f"  {blocks} blocks in {time.monotonic() - started:.1f} s; prometheus is up at "
            f"{server.url}"
        )
        return server

    def _receivers(self, stack: ExitStack) -> Receivers:
        receivers = Receivers(
            PagerDutyReceiver(routing_keys=[DEMO_ROUTING_KEY]),
            OpsgenieReceiver(api_keys=[DEMO_GENIE_KEY]),
            WebhookReceiver(secret=DEMO_WEBHOOK_SECRET, preset="incident_io"),
            SlackReceiver(),
        )
        for receiver in receivers.all():
            receiver.on_arrival = self._arrived
            receiver.start()
            stack.callback(receiver.stop)
        return receivers

    def _arrived(self, receiver: Receiver, arrival: Arrival) -> None:
        self.inbox.put(("arrival", (receiver.service, arrival)))

    def _write_files(self, work: Path, prometheus: PrometheusServer, r: Receivers) -> Path:
        (work / "slos").mkdir()
        (work / "slos" / "shop.yaml").write_text(story.SLO_YAML, encoding="utf-8")
        secrets = work / "secrets"
        secrets.mkdir(mode=0o700)
        for name, value in (
            ("pagerduty-routing-key", DEMO_ROUTING_KEY),
            ("opsgenie-api-key", DEMO_GENIE_KEY),
            ("webhook-secret", DEMO_WEBHOOK_SECRET),
            ("slack-webhook-url", r.slack.webhook_url),
        ):
            path = secrets / name
            path.write_text(value + "\n", encoding="utf-8")
            path.chmod(0o600)
        endpoints = story.Endpoints(
            prometheus=prometheus.url,
            pagerduty=r.pagerduty.enqueue_url,
            opsgenie=r.opsgenie.url,
            webhook=f"{r.webhook.url}/hook",
        )
        config = work / "sloguard.yaml"
        config.write_text(story.config_yaml(endpoints), encoding="utf-8")
        return config

    def _start_daemon(self, config: Path, work: Path, stack: ExitStack) -> DaemonProcess:
        command = [
            sys.executable,
            "-m",
            "sloguard",
            "run",
            "--config",
            str(config),
            "--replay-from",
            iso_time(story.REPLAY_FROM),
            "--speed",
            f"{self.speed:g}",
        ]
        root = str(Path(sloguard.__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        log = (work / "sloguard.log").open("w", encoding="utf-8")
        stack.callback(log.close)
        process = subprocess.Popen(  # nosec B603
            command,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,  # Ctrl-C reaches the demo only; the demo stops the daemon
        )
        daemon = DaemonProcess(process, command, speed=self.speed)
        stack.callback(self._stop_daemon, daemon)
        assert process.stderr is not None
        daemon.reader = threading.Thread(
            target=self._read_log, args=(process.stderr, log), name="sloguard-log", daemon=True
        )
        daemon.reader.start()
        return daemon

    def _read_log(self, stream: IO[str], log: IO[str]) -> None:
        for line in stream:
            try:
                log.write(line)
                log.flush()
            except ValueError:  # closed during cleanup
                pass
            self.inbox.put(("log", line.rstrip("\n")))

    def _stop_daemon(self, daemon: DaemonProcess) -> int | None:
        process = daemon.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if daemon.reader is not None:
            daemon.reader.join(timeout=5)
        return process.returncode

    # --- the live view ----------------------------------------------------------------------
    def _drain(self, daemon: DaemonProcess, *, final: bool = False) -> None:
        """Take in what arrived since the last call and print what is due, in story order."""
        while True:
            try:
                kind, item = self.inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "arrival":
                service, arrival = item
                at = daemon.story_time(arrival.at) if daemon.anchor else arrival.at
                self._show(at, arrival_lines(service, arrival, at))
            else:
                shown = self._log_line(daemon, item)
                if shown:
                    self._show(shown[0], [shown[1]])
        self._flush(final=final)

    def _show(self, at: float, lines: list[str]) -> None:
        self.held.append((at, len(self.held) + self.shown, time.monotonic(), lines))

    def _flush(self, *, final: bool = False) -> None:
        """Print held lines in story-time order, each once it is HOLD_SECONDS old.

        A decision reaches the demo through the daemon's log pipe, its deliveries straight from
        the receivers, so a delivery can overtake the decision it came from. Holding lines a
        moment, and never printing past an earlier line still held, keeps the story in order.
        """
        self.held.sort()
        due = time.monotonic() - HOLD_SECONDS
        while self.held and (final or self.held[0][2] <= due):
            for line in self.held.pop(0)[3]:
                self.echo(line)
            self.shown += 1

    def _log_line(self, daemon: DaemonProcess, line: str) -> tuple[float, str] | None:
        """Take in one line of the daemon's log; return (story time, text) to show, if any."""
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            if not line.strip():
                return None
            daemon.problems.append(line)
            at = daemon.story_time(time.time()) if daemon.anchor else time.time()
            return at, click.style(f"          sloguard: {line}", fg="red")
        wall = datetime.fromisoformat(str(record.get("ts"))).timestamp()
        found = _REPLAYING.search(str(record.get("msg", "")))
        if found and daemon.anchor is None:
            daemon.anchor = (wall, float(found["start"]))
            daemon.speed = float(found["speed"])
        at = daemon.story_time(wall) if daemon.anchor else wall
        if isinstance(record.get("evaluated_at"), int | float):
            at = float(record["evaluated_at"])  # the tick's instant, not when it was logged
        if record.get("event"):
            daemon.events.append((at, record))
        if record.get("msg") == SKIPPED_TICK_MESSAGE:
            daemon.ticks_skipped += 1  # replay pressure, not a fault: say so once
            if daemon.ticks_skipped > 1:
                return None
        elif record.get("level") in ("warning", "error", "critical"):
            daemon.problems.append(str(record.get("msg")))
        shown = daemon_line(record, at)
        return (at, shown) if shown else None

    def _watch(self, daemon: DaemonProcess, config: Path, receivers: Receivers) -> str:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while daemon.anchor is None:
            self._drain(daemon)
            if daemon.process.poll() is not None:
                self._drain(daemon)
                return f"sloguard exited with {daemon.process.returncode} before replaying"
            if time.monotonic() > deadline:
                return "sloguard did not start replaying in time"
            time.sleep(0.02)
        self.in_loop = True
        try:
            return asyncio.run(self._live(daemon, config, receivers))
        finally:
            self.in_loop = False

    async def _live(self, daemon: DaemonProcess, config_path: Path, receivers: Receivers) -> str:
        assert daemon.anchor is not None
        wall, start = daemon.anchor
        replay = ScaledClock(start, daemon.speed, origin=time.monotonic() - (time.time() - wall))
        config = load_config(config_path)
        slos = load_slos(config.slo_paths)
        next_at, last_line, done_at = float(story.REPLAY_FROM), 0.0, None
        shown: dict[str, Severity] = {}
        engine = Engine()
        async with PrometheusClient(config.prometheus) as source:
            while True:
                self._drain(daemon)
                if self.stop_requested:
                    raise Stopped(self.stop_requested)
                if daemon.process.poll() is not None:
                    return f"sloguard exited early with {daemon.process.returncode}"
                now = replay.now()
                if now >= next_at:
                    # Behind (a slow machine)? Skip to the latest tick, as the daemon does.
                    late = (now - next_at) // story.INTERVAL_SECONDS
                    next_at += late * story.INTERVAL_SECONDS
                    evaluations = await engine.evaluate_all(slos, source, next_at)
                    current = {e.slo: e.severity for e in evaluations}
                    changed = [
                        f"{e.slo} {shown[e.slo].name} -> {e.severity.name}"
                        for e in evaluations
                        if e.slo in shown and shown[e.slo] is not e.severity
                    ]
                    if current != shown:
                        title = "; ".join(changed) if changed else _FIRST_TABLE
                        self._show(next_at, ["", *table(next_at, evaluations, title)])
                        last_line = next_at
                    elif next_at - last_line >= HEARTBEAT_SECONDS:
                        self._show(next_at, [still(next_at, evaluations)])
                        last_line = next_at
                    shown = current
                    next_at += story.INTERVAL_SECONDS
                if done_at is None and _story_delivered(receivers):
                    done_at = now
                if done_at is not None and now >= done_at + LINGER_SECONDS:
                    return "done"
                if now >= story.REPLAY_UNTIL:
                    return "the story did not finish in time"
                await asyncio.sleep(0.05)

    # --- words ------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.echo(text)

    def _intro(self) -> None:
        for line in intro(self.speed):
            self.echo(line)

    def _where(self, work: Path, prom: PrometheusServer, r: Receivers, config: Path) -> None:
        places = Places(
            prometheus=prom.url,
            pagerduty=r.pagerduty.enqueue_url,
            webhook=f"{r.webhook.url}/hook",
            slack=f"{r.slack.url}/services/...",  # the path is the secret
            opsgenie=r.opsgenie.url,
            config=config,
            work=work,
            python=_short(Path(sys.executable)),
        )
        for line in where(places, self.speed, keep=self.keep):
            self.echo(line)


def _short(path: Path) -> Path:
    """``.venv/bin/python`` reads better than an absolute path, when it is one."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def _story_delivered(r: Receivers) -> bool:
    """Everything the story should deliver has arrived (then the demo lingers a little)."""
    return (
        any(not i.open for i in r.pagerduty.incidents)
        and any(not i.open for i in r.webhook.incidents)
        and bool(r.opsgenie.alerts)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.demo",
        description="sloguard's demo (make demo): a real Prometheus holding a recorded night "
        "with an outage, local PagerDuty, Opsgenie, incident webhook and Slack receivers, and "
        "`sloguard run --replay-from ... --speed N` paging them; about 2 minutes at the "
        "default speed. Exit status 0 when everything happened as it should (a smoke test), "
        "1 when not, 130 when interrupted.",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"story seconds per real second (default {DEFAULT_SPEED:g}; at most "
        f"{story.INTERVAL_SECONDS / 0.2:g}: one tick per 0.2 s)",
    )
    parser.add_argument(
        "--quick",
        action="store_const",
        const=QUICK_SPEED,
        dest="speed",
        help=f"the same story at {QUICK_SPEED:g}x (about 30 s; for tests)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (config, SLOs, state database, sloguard.log)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.speed <= story.INTERVAL_SECONDS / 0.2:
        parser.error(f"--speed must be above 0 and at most {story.INTERVAL_SECONDS / 0.2:g}")
    return Demo(speed=args.speed, keep=args.keep, echo=lambda s: click.echo(s)).run()
