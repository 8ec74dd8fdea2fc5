"""``sloguard evaluate``: ask Prometheus once and print how fast each SLO burns its budget."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sloguard.burn import Evaluation, burn_rate_text
from sloguard.cli._durations import duration_or_off
from sloguard.cli._prometheus import Connection, connection_options, prometheus_config
from sloguard.clock import SystemClock
from sloguard.collector import CollectorPause
from sloguard.durations import (
    format_duration,
    human_duration,
    iso_time,
    parse_time,
)
from sloguard.engine import Engine
from sloguard.errors import SloguardError, SpecError
from sloguard.model import SLO, Severity
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.prometheus.reachability import Reachability, unreachable_reason
from sloguard.views import evaluation_json

EXIT_OK = 0
EXIT_SLO_ERRORS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

COLOURS = {
    Severity.SEV1: {"fg": "red", "bold": True},
    Severity.SEV2: {"fg": "red"},
    Severity.SEV3: {"fg": "yellow"},
    Severity.OK: {"fg": "green"},
    Severity.NO_DATA: {"fg": "magenta"},
}


def parse_at(text: str) -> float:
    """A time option (``--at``, ``--replay-from``): unix seconds or RFC 3339 with a timezone."""
    try:
        return parse_time(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _burn(b: float | None) -> str:
    """A table cell: the column header names the unit, so no ``x``."""
    return "-" if b is None else burn_rate_text(b, fine=True).removesuffix("x")


def _budget(r: float | None) -> str:
    return "-" if r is None else f"{r * 100:.1f}%"


def _exhaustion(ev: Evaluation) -> str:
    if ev.time_to_exhaustion_seconds is None:
        return "-" if ev.error_budget_remaining is None else "never"
    if ev.time_to_exhaustion_seconds <= 0:
        return "exhausted"
    return human_duration(ev.time_to_exhaustion_seconds)


def _slo_of(ev: Evaluation, by_name: dict[str, SLO]) -> SLO | None:
    return by_name.get(ev.slo.split("{", 1)[0])


def as_json(evaluations: Sequence[Evaluation], slos: Sequence[SLO]) -> list[dict[str, Any]]:
    """The evaluations in the one shape the status API shows too (sloguard.views)."""
    by_name = {s.name: s for s in slos}
    return [evaluation_json(ev, _slo_of(ev, by_name)) for ev in evaluations]


def as_table(evaluations: Sequence[Evaluation], *, colour: bool) -> str:
    windows = sorted({w for ev in evaluations for w in ev.burn_rates})
    head = ["SLO", "SEVERITY", *[f"BURN {format_duration(w)}" for w in windows]]
    head += ["BUDGET LEFT", "EXHAUSTED IN"]
    rows = [
        [
            ev.slo,
            str(ev.severity) + (" (error)" if ev.error else ""),
            *[_burn(ev.burn_rates.get(w)) if w in ev.burn_rates else "" for w in windows],
            _budget(ev.error_budget_remaining),
            _exhaustion(ev),
        ]
        for ev in evaluations
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> list[str]:
        # text columns left-aligned, numbers right-aligned
        return [c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(cells)]

    out = ["  ".join(line(head)).rstrip()]
    for ev, row in zip(evaluations, rows, strict=True):
        cells = line(row)
        if colour:
            cells[1] = click.style(cells[1], **COLOURS[ev.severity])  # type: ignore[arg-type]
        out.append("  ".join(cells).rstrip())
    errors = [ev for ev in evaluations if ev.error]
    if errors:
        out.append("")
        out.append("errors:")
        out.extend(f"  {ev.error}" for ev in errors)
    return "\n".join(out)


async def _evaluate(
    config: PrometheusConfig, slos: list[SLO], at: float, recorded: bool, direct_max: int
) -> tuple[list[Evaluation], str]:
    """The evaluations, and why Prometheus could not be reached at all ("" when it answered)."""
    async with PrometheusClient(config) as client:
        source = Reachability(client)
        evaluations = await Engine().evaluate_all(
            slos, source, at, recorded=recorded, direct_windows_max_seconds=direct_max
        )
    if source.up or source.failure is None:
        return evaluations, ""
    return evaluations, unreachable_reason(source.failure, client.display_url)


async def evaluate_at(
    config: PrometheusConfig, slos: list[SLO], at: float
) -> tuple[list[Evaluation], str]:
    """Every SLO at ``at`` as the daemon reads it (recorded series where the rules run)."""
    return await _evaluate(config, slos, at, recorded=True, direct_max=0)


EPILOG = """\b
Exit status:
  0  every SLO was evaluated (whatever its severity)
  1  at least one SLO could not be evaluated (query error, ...), or Prometheus
     could not be reached at all (said once, with the reason)
  2  usage error or invalid SLO definitions
  3  internal error (a bug in sloguard: please report it)

\b
Examples:
  sloguard evaluate slo_definitions/ --prometheus http://prometheus:9090
  sloguard evaluate checkout.yaml --prometheus $URL --at 2024-01-01T06:05:00Z -o json
"""


@click.command("evaluate", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--prometheus",
    "url",
    required=True,
    envvar="SLOGUARD_PROMETHEUS_URL",
    metavar="URL",
    help="Prometheus base URL, e.g. http://prometheus:9090 (env SLOGUARD_PROMETHEUS_URL).",
)
@click.option(
    "--at",
    "at_text",
    metavar="RFC3339|UNIX",
    help="Evaluate at this instant instead of now, e.g. 2024-01-01T06:05:00Z or 1704089100.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for scripts.",
)
@click.option("--timeout", type=click.FloatRange(min=0.1, max=300), default=10.0, show_default=True,
              help="Seconds to wait for each query.")  # fmt: skip
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Extra attempts on transient errors (connect, timeout, 5xx, 429).")  # fmt: skip
@click.option("--recorded/--no-recorded", default=True, show_default=True,
              help="Read SLOs whose `sloguard generate` rules run in Prometheus from the "
                   "recorded series (few queries, but only as fresh as the last rule "
                   "evaluation); --no-recorded queries every window directly.")  # fmt: skip
@click.option("--direct-windows-max", "direct_max", metavar="DURATION", default="0",
              show_default=True,
              callback=duration_or_off(off="to read every recorded window"),
              help="With --recorded, still query windows up to this long directly, e.g. 1h for "
                   "the SEV1 tier's 5m and 1h (fresher, a few more queries per SLO).")  # fmt: skip
@click.option("--color/--no-color", "colour", default=None,
              help="Colour the severities (default: when writing to a terminal).")  # fmt: skip
@connection_options
def evaluate(
    paths: tuple[Path, ...],
    url: str,
    at_text: str | None,
    output: str,
    timeout: float,
    retries: int,
    connection: Connection,
    recorded: bool,
    direct_max: int,
    colour: bool | None,
) -> None:
    """Evaluate the SLOs in PATH... (files or directories) once against Prometheus.

    For every SLO (every group of a grouped SLO) prints the severity (SEV1, SEV2, SEV3, OK or
    NO_DATA), the burn rate of every window its tiers use (1.0 = spending the error budget
    exactly over the SLO period), the error budget left over the period and the time until it
    runs out at the current burn. All windows are read at one instant (--at, default now).

    When the recording rules of `sloguard generate` run in Prometheus, the SLOs they cover are
    read from the recorded series (see --recorded and --direct-windows-max).
    """
    at = parse_at(at_text) if at_text else SystemClock().now()
    config = prometheus_config(url, timeout, retries, connection)
    # As in a daemon's tick (sloguard.collector): the SLOs, answers and evaluations live until
    # the command ends and make no cycles, so automatic collections (a tenth of the CPU of
    # evaluating 1,000 SLOs) would only walk them again and again.
    with CollectorPause().paused():
        _evaluate_and_print(paths, at, output, config, recorded, direct_max, colour)


def _evaluate_and_print(
    paths: tuple[Path, ...],
    at: float,
    output: str,
    config: PrometheusConfig,
    recorded: bool,
    direct_max: int,
    colour: bool | None,
) -> None:
    """Load the SLOs, evaluate them at ``at`` and print them; exits with the command's status."""
    from sloguard.spec import load_slos

    try:
        slos = load_slos([str(p) for p in paths])
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_USAGE)
    if not slos:
        click.echo(f"sloguard: no SLOs found in {', '.join(map(str, paths))}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        evaluations, unreachable = asyncio.run(_evaluate(config, slos, at, recorded, direct_max))
    except SloguardError as exc:  # e.g. an unreadable token or CA file
        click.echo(f"sloguard: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - never a traceback for the person at the terminal
        click.echo(f"sloguard: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    if unreachable:  # said once, first; not as the same error on every SLO's row
        where = PrometheusClient.display(config)
        click.echo(f"sloguard: error: Prometheus at {where} could not be reached: {unreachable}",
                   err=True)  # fmt: skip
        if output != "json":  # scripts still get one NO_DATA entry per SLO
            sys.exit(EXIT_SLO_ERRORS)
    if output == "json":
        click.echo(json.dumps(as_json(evaluations, slos), indent=2, allow_nan=False))
    else:
        use_colour = sys.stdout.isatty() if colour is None else colour
        burning = sum(1 for ev in evaluations if ev.severity > Severity.OK)
        click.echo(
            f"{len(evaluations)} SLOs at {iso_time(at)} from {PrometheusClient.display(config)}: "
            f"{burning} burning",
        )
        click.echo(as_table(evaluations, colour=use_colour), color=use_colour)
    sys.exit(EXIT_SLO_ERRORS if any(ev.error for ev in evaluations) else EXIT_OK)
