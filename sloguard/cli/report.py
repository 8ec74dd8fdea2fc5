"""``sloguard report``: the reliability review of a period, from Prometheus and the state."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sloguard.cli._prometheus import Connection, connection_options, prometheus_config
from sloguard.cli._report_data import reviews
from sloguard.cli.evaluate import parse_at
from sloguard.errors import SloguardError, SpecError
from sloguard.model import SLO
from sloguard.prometheus import PrometheusClient, PrometheusConfig
from sloguard.records import EpisodeRecord
from sloguard.report import SloReview, build, render

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

EPILOG = """\b
Exit status:
  0  the report was written
  1  Prometheus could not answer, or the state database could not be read
  2  usage error or invalid SLO definitions

\b
Examples:
  sloguard report slo_definitions/ --prometheus $URL --from 2024-06-01T00:00:00Z \\
      --to 2024-07-01T00:00:00Z --state /var/lib/sloguard/sloguard.db > june.md
  sloguard report slos/ --prometheus $URL --from 1717200000 --to 1719792000 --format json
"""


async def _read(
    config: PrometheusConfig,
    slos: Sequence[SLO],
    recorded: Sequence[EpisodeRecord],
    start: float,
    end: float,
    drawn: bool,
) -> list[SloReview]:
    async with PrometheusClient(config) as client:
        return await reviews(client, slos, recorded, start, end, drawn=drawn)


def _episodes(state: Path | None) -> list[EpisodeRecord]:
    if state is None:
        return []
    from sloguard.store import Store

    store = Store.open(state, read_only=True)
    try:
        return store.episodes()
    finally:
        store.close()


@click.command("report", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--prometheus", "url", required=True, envvar="SLOGUARD_PROMETHEUS_URL",
              metavar="URL", help="Prometheus base URL (env SLOGUARD_PROMETHEUS_URL).")  # fmt: skip
@click.option("--from", "from_text", required=True, metavar="RFC3339|UNIX",
              help="Start of the period.")  # fmt: skip
@click.option("--to", "to_text", required=True, metavar="RFC3339|UNIX", help="End of the period.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "html", "json"]),
              default="markdown", show_default=True)  # fmt: skip
@click.option("--state", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The daemon's state database, for the episodes of the period.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.1, max=300), default=30.0, show_default=True,
              help="Seconds to wait for each query.")  # fmt: skip
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True)
@connection_options
def report(
    paths: tuple[Path, ...],
    url: str,
    from_text: str,
    to_text: str,
    fmt: str,
    state: Path | None,
    timeout: float,
    retries: int,
    connection: Connection,
) -> None:
    """The reliability review of the SLOs in PATH... between --from and --to.

    Per SLO, and per group of an SLO with group_by, worst first: availability over the period
    against the objective, the share of the SLO period's error budget the period spent, and
    with --state the episodes declared in it (by severity, the budget each spent, time to
    detect and to resolve) and pages per week. The HTML adds the UI's graphs over the period.
    """
    start, end = parse_at(from_text), parse_at(to_text)
    if end - start < 60:
        raise click.BadParameter("--to must be at least a minute after --from", param_hint="--to")
    config = prometheus_config(url, timeout, retries, connection)
    from sloguard.spec import load_slos

    try:
        slos = load_slos([str(p) for p in paths])
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_USAGE)
    try:
        recorded = _episodes(state)
        rows = asyncio.run(_read(config, slos, recorded, start, end, fmt == "html"))
    except SloguardError as exc:
        click.echo(f"sloguard: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(render(build(start, end, rows), fmt), nl=False)
    sys.exit(EXIT_OK)
