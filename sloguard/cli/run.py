"""``sloguard run``: the daemon, or exactly one tick of it with ``--once [--at TIME]``."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click

from sloguard.app import open_daemon, run_daemon
from sloguard.cli.evaluate import parse_at
from sloguard.clock import ScaledClock
from sloguard.config import DaemonConfig, load_config
from sloguard.durations import iso_time
from sloguard.errors import ConfigError, SloguardError, SpecError
from sloguard.ha import default_instance_id
from sloguard.tick import TickReport

# A replayed tick closer than this to the next in real time would mostly be skipped ticks: the
# queries of one tick take tens of milliseconds, and the outbox needs a moment between them.
MIN_REAL_TICK_SECONDS = 0.2

_FIELDS = (
    "slo",
    "severity",
    "dedup_key",
    "event",
    "evaluated_at",  # the pinned instant of the tick that caused the event (replays: the past)
    "notifier",
    "integration",
    "status",
    "instance",
)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: getattr(record, k) for k in _FIELDS if getattr(record, k, None)})
        return json.dumps(data)


class _Instance(logging.Filter):
    """Names the replica in every record (several replicas log to one place)."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def filter(self, record: logging.LogRecord) -> bool:
        record.instance = self.instance
        return True


def _setup_logging(config: DaemonConfig, instance: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Instance(instance))
    if config.log.format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(instance)s %(name)s: %(message)s")
        )
    root = logging.getLogger("sloguard")
    root.handlers[:] = [handler]
    root.setLevel(config.log.level.upper())
    root.propagate = False


def render(report: TickReport) -> str:
    """The short summary ``run --once`` prints."""
    unix = f"{report.at:.3f}".rstrip("0").rstrip(".")
    lines = [f"tick at {iso_time(report.at)} ({unix}): {len(report.slos)} SLO key(s)"]
    width = max((len(s.key) for s in report.slos), default=0)
    for s in report.slos:
        events = ", ".join(
            f"{e.kind.value} {e.severity.name}" + (" (paged)" if e.notify else "") for e in s.events
        )
        notes = [x for x in (events, f"silenced: {s.silenced}" if s.silenced else "", s.error) if x]
        episode = s.episode_id or "-"
        lines.append(
            f"  {s.key:<{width}}  {s.severity.name:<7}  {s.phase.value:<6}  {episode:<41}"
            + (f"  {'; '.join(notes)}" if notes else "")
        )
    for failure in report.failures:
        lines.append(f"  failed: {failure}")
    d, o = report.delivery, report.outbox
    lines.append(
        f"deliveries this pass: {d.delivered} delivered, {d.retried} to retry, "
        f"{d.deferred} deferred (rate limit), {d.dead} dead-lettered; "
        f"outbox: {o.pending} pending, {o.dead} dead letters"
    )
    return "\n".join(lines)


async def _once(config: DaemonConfig, at: float | None) -> TickReport:
    async with open_daemon(config) as daemon:
        return await daemon.once(at)


def check_replay(config: DaemonConfig, start: float, speed: float, now: float) -> None:
    """Refuse a replay that cannot work: from the future, or ticks too close in real time."""
    if start >= now:
        raise click.BadParameter(
            f"{iso_time(start)} is not in the past: a replay needs recorded data",
            param_hint="'--replay-from'",
        )
    if not speed > 0:
        raise click.BadParameter(f"{speed:g} is not a positive factor", param_hint="'--speed'")
    real = config.interval_seconds / speed
    if real < MIN_REAL_TICK_SECONDS:
        fastest = config.interval_seconds / MIN_REAL_TICK_SECONDS
        raise click.BadParameter(
            f"at {speed:g}x a tick every {config.interval_seconds:g}s (interval_seconds) comes "
            f"every {real:.3f}s of real time, faster than ticks can run; use --speed "
            f"{fastest:g} or less, or a longer interval_seconds",
            param_hint="'--speed'",
        )


def _replay_clock(start: float, speed: float) -> ScaledClock:
    clock = ScaledClock(start, speed)
    logging.getLogger("sloguard.app").info(
        "replaying from %s (%s) at %gx speed", iso_time(start), f"{start:.3f}", speed
    )
    return clock


def _fail(exc: SloguardError) -> None:
    if isinstance(exc, ConfigError | SpecError):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(2)
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.command("run")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
    help="The daemon config file (see docs/config.md).",
)
@click.option(
    "--once", is_flag=True, help="Do one tick and one delivery pass, print a summary, exit."
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="With --once: evaluate as of TIME (RFC 3339 with a timezone, or unix seconds) instead "
    "of now. State and outbox are real: notifications are queued and sent.",
)
@click.option(
    "--replay-from",
    "replay_from",
    metavar="TIME",
    help="Run the daemon from a past instant TIME (RFC 3339 with a timezone, or unix seconds) "
    "instead of now, and let that replayed time run at --speed: replay a past incident into a "
    "staging pager at N-times speed. State and outbox are real. Not with --once.",
)
@click.option(
    "--speed",
    type=float,
    metavar="N",
    help="With --replay-from: replayed seconds per real second (default 1). Ticks, the quiet "
    f"period and retry backoff all run N times faster; interval_seconds / N must be at least "
    f"{MIN_REAL_TICK_SECONDS:g} s.",
)
@click.option(
    "--instance-id",
    metavar="NAME",
    help="This replica's name in leases and logs (with state_url; default: hostname-pid).",
)
def run(
    config_path: str,
    once: bool,
    at: str | None,
    replay_from: str | None,
    speed: float | None,
    instance_id: str | None,
) -> None:
    """Run sloguard: evaluate every SLO each interval, page and declare incidents on burns.

    Each tick evaluates all SLOs at one pinned time, steps each SLO's episode (declare,
    escalate, resolve), writes the new state and the notifications to the state database in
    one transaction, and delivers them to the routed notifiers (retried until they arrive).

    With --once it does exactly one tick and one delivery pass and exits; with --at it does
    that tick as of a past instant, to drive an episode step by step over recorded data or to
    replay an incident into a staging pager. Repeating an instant already evaluated changes
    nothing.

    The daemon serves /metrics, /healthz, /readyz and /api/v1/slos on http.listen (default
    0.0.0.0:9464). SIGHUP, or a change of the config or SLO files, reloads them; an invalid
    new configuration is reported like `sloguard validate` does and the running one stays.
    SIGTERM or Ctrl-C stops it: deliveries in flight finish, the rest stay queued, exit 0.

    With --replay-from TIME --speed N it runs as the daemon does, but its clock starts at TIME
    and runs N times faster: replay a past incident into a staging pager at N-times speed
    (point the config at staging receivers). Prometheus must hold the data of that stretch;
    once the replay reaches the present there is nothing more to read, so stop it before.

    Exit status: 0 ok (also after SIGTERM), 1 when an SLO could not be processed (--once) or
    the state database is unusable, 2 on config, SLO definition or usage errors.

    \b
    Examples:
      sloguard run --config sloguard.yaml
      sloguard run --config sloguard.yaml --once
      sloguard run --config staging.yaml --once --at 2024-01-01T06:05:00Z
      sloguard run --config staging.yaml --replay-from 2024-01-01T05:50:00Z --speed 30
    """
    if at is not None and not once:
        raise click.UsageError(
            "--at needs --once (the daemon evaluates at the present, or use --replay-from)"
        )
    if replay_from is not None and once:
        raise click.UsageError("--replay-from runs the daemon; for one past tick use --once --at")
    if speed is not None and replay_from is None:
        raise click.UsageError("--speed needs --replay-from")
    instant = parse_at(at) if at is not None else None
    replay_start = parse_at(replay_from) if replay_from is not None else None
    try:
        config = load_config(config_path)
        replay = None
        if replay_start is not None:
            replay = (replay_start, 1.0 if speed is None else speed)
            check_replay(config, *replay, now=time.time())
        instance_id = instance_id or default_instance_id()
        _setup_logging(config, instance_id)
        if once:
            report = asyncio.run(_once(config, instant))
            click.echo(render(report))
            sys.exit(1 if report.failures else 0)
        clock = _replay_clock(*replay) if replay else None
        asyncio.run(run_daemon(config_path, clock=clock, instance_id=instance_id))
    except SloguardError as exc:
        _fail(exc)
