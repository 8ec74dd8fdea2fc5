"""``sloguard backtest``: what the daemon would have paged over a past range, per policy."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from sloguard.backtest import (
    SPEC_POLICY,
    Incident,
    Options,
    Policy,
    Result,
    check_policy,
    load_incidents,
    one_tenant,
    replay,
    result_json,
    score,
)
from sloguard.backtest._report import render_text
from sloguard.backtest.plot import INSTALL_HINT
from sloguard.backtest.plot import available as plot_available
from sloguard.cli._prometheus import Connection, connection_options, prometheus_config
from sloguard.cli.evaluate import parse_at
from sloguard.clock import SystemClock
from sloguard.durations import DurationError, parse_duration
from sloguard.errors import ConfigError, SloguardError, SpecError
from sloguard.lifecycle import LifecyclePolicy
from sloguard.model import SLO
from sloguard.prometheus import PrometheusClient, PrometheusConfig

EXIT_OK = 0
EXIT_QUERY_ERRORS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

_RELATIVE = re.compile(r"^now(?:-(?P<ago>\w+))?$")

EPILOG = """\b
Times: RFC 3339 with a timezone (2024-01-01T06:00:00Z), unix seconds, now, or now-DURATION
(now-30d).

\b
Policy file (--policy, repeatable): a YAML list of tiers, as in spec.alerting.tiers:
  - {severity: SEV1, long: 1h, short: 5m, budget_percent: 2}
  - {severity: SEV2, long: 6h, short: 30m, budget_percent: 5}
(or a mapping with `name:` and `tiers:`). Every run also replays policy "spec", each SLO's
own tiers, so one command compares the policies on the same history.

\b
Incidents file (--incidents): a YAML list of what really happened:
  - {slo: checkout-availability, start: 2024-01-01T06:00:00Z, end: 2024-01-01T06:20:00Z,
     name: INC-1234}
gives precision, recall, detection delay and reset time per policy (docs/backtest.md).

\b
Exit status:
  0  the backtest ran over every step
  1  some queries failed: the steps they cover count as no data (listed under errors)
  2  usage error; invalid SLO, policy or incidents file; --plot without matplotlib
  3  internal error (a bug in sloguard: please report it)

\b
Examples:
  sloguard backtest slo_definitions/ --prometheus http://prometheus:9090 --from now-30d --to now
  sloguard backtest checkout.yaml --prometheus $URL --from 2024-01-01T00:00:00Z \\
      --to 2024-01-31T00:00:00Z --policy fast-only.yaml --incidents incidents.yaml -o markdown
  sloguard backtest slos/ --prometheus $URL --from now-7d --to now --plot backtest.png
"""


def parse_time(text: str, now: float) -> float:
    """``--from``/``--to``: what :func:`parse_at` takes, or ``now`` / ``now-DURATION``."""
    match = _RELATIVE.match(text.strip())
    if match:
        ago = match.group("ago")
        if ago is None:
            return now
        try:
            return now - parse_duration(ago)
        except DurationError as exc:
            raise click.BadParameter(str(exc)) from None
    return parse_at(text)


def _duration(text: str, what: str) -> float:
    try:
        return float(parse_duration(text))
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint=what) from None


def _problems(exc: SpecError | ConfigError) -> NoReturn:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_USAGE)


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with click.progressbar(
        length=total, label="replaying", file=sys.stderr, show_eta=True, show_percent=True
    ) as bar:
        yield bar


async def _run(
    config: PrometheusConfig,
    slos: Sequence[SLO],
    options: Options,
    policies: Sequence[Policy],
    bar: Any,
) -> Result:
    async with PrometheusClient(config) as client:
        return await replay(
            slos, client, options, policies, progress=bar.update if bar is not None else None
        )


@click.command("backtest", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--prometheus", "url", required=True, envvar="SLOGUARD_PROMETHEUS_URL",
              metavar="URL", help="Prometheus base URL (env SLOGUARD_PROMETHEUS_URL).")  # fmt: skip
@click.option("--from", "from_text", required=True, metavar="TIME", help="Start of the range.")
@click.option("--to", "to_text", required=True, metavar="TIME", help="End of the range.")
@click.option("--step", "step_text", default="30s", show_default=True, metavar="DURATION",
              help="Evaluate every DURATION, as the daemon's interval_seconds.")  # fmt: skip
@click.option("--policy", "policy_files", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also replay the tiers in FILE (repeatable).")  # fmt: skip
@click.option("--incidents", "incidents_file", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Known incidents: score each policy against them.")  # fmt: skip
@click.option("--output", "-o", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True, help="How to print the result.")  # fmt: skip
@click.option("--plot", "plot_file", metavar="FILE.png",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Draw budget, burn rates, thresholds and episodes (PNG).")  # fmt: skip
@click.option("--quiet-period", "quiet_text", default="5m", show_default=True,
              metavar="DURATION", help="Resolve after no tier fired this long (the daemon's "
              "lifecycle.quiet_period_seconds).")  # fmt: skip
@click.option("--budget-step", "budget_text", metavar="DURATION",
              help="Ask the SLO-period queries (budget remaining only) at this coarser step. "
              "Default: every step up to 2,880 steps, else about 1,440 points.")  # fmt: skip
@click.option("--max-points", type=click.IntRange(1, 11_000), default=10_000, show_default=True,
              help="Points per range query; longer ranges are cut into chunks.")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Range queries in flight at once.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.1, max=300), default=60.0,
              show_default=True, help="Seconds to wait for each range query.")  # fmt: skip
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Extra attempts on transient errors.")  # fmt: skip
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")  # fmt: skip
@connection_options
def backtest(
    paths: tuple[Path, ...],
    url: str,
    from_text: str,
    to_text: str,
    step_text: str,
    policy_files: tuple[Path, ...],
    incidents_file: Path | None,
    output: str,
    plot_file: Path | None,
    quiet_text: str,
    budget_text: str | None,
    max_points: int,
    concurrency: int,
    timeout: float,
    retries: int,
    connection: Connection,
    progress: bool | None,
) -> None:
    """Replay the SLOs in PATH... over a past range and report every episode the daemon would
    have declared: when it was declared, every severity change, when it resolved, the peak burn
    rate, the error budget it consumed and how long it took from the first burn to the
    declaration.

    It runs the daemon's own evaluation and episode lifecycle, with time taken from the range
    instead of the clock, over Prometheus range queries (cut into chunks, so 30 days at 30 s
    work). Use it to tune a policy before it pages anyone: replay last month with --policy
    candidate.yaml and --incidents incidents.yaml, and compare precision and recall.
    """
    now = SystemClock().now()
    start, end = parse_time(from_text, now), parse_time(to_text, now)
    if end <= start:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    step = _duration(step_text, "--step")
    if plot_file is not None and not plot_available():
        click.echo(f"sloguard: {INSTALL_HINT}", err=True)
        sys.exit(EXIT_USAGE)
    try:
        options = Options(
            start=start,
            end=end,
            step=step,
            lifecycle=LifecyclePolicy(quiet_period_seconds=_duration(quiet_text, "--quiet-period")),
            max_points_per_query=max_points,
            concurrency=concurrency,
            budget_step=_duration(budget_text, "--budget-step") if budget_text else None,
            record_series=plot_file is not None,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    config = prometheus_config(url, timeout, retries, connection)
    from sloguard.spec import load_slos

    incidents: list[Incident] = []
    try:
        slos = load_slos([str(p) for p in paths])
        if not slos:
            click.echo(f"sloguard: no SLOs found in {', '.join(map(str, paths))}", err=True)
            sys.exit(EXIT_USAGE)
        policies = [Policy(SPEC_POLICY)] + [check_policy(p, slos) for p in policy_files]
        if incidents_file is not None:
            incidents = load_incidents(incidents_file, slos)
    except (SpecError, ConfigError) as exc:
        _problems(exc)
    try:
        one_tenant(slos)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    names = [p.name for p in policies]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise click.UsageError(
            f"two policies are named {duplicate!r}: give each policy file a distinct `name:`"
        )
    show_progress = sys.stderr.isatty() if progress is None else progress
    try:
        with _progress(options.steps, show_progress) as bar:
            result = asyncio.run(_run(config, slos, options, policies, bar))
        scores = score(result, incidents) if incidents_file is not None else None
        if plot_file is not None:
            from sloguard.backtest.plot import plot

            drawn = plot(result, plot_file)
            click.echo(f"sloguard: plotted {drawn} SLO key(s) to {plot_file}", err=True)
    except (SloguardError, OSError) as exc:  # e.g. an unreadable token or CA file, unwritable plot
        click.echo(f"sloguard: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # noqa: BLE001 - never a traceback for the person at the terminal
        click.echo(f"sloguard: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    if output == "json":
        click.echo(json.dumps(result_json(result, scores), indent=2, allow_nan=False))
    else:
        click.echo(render_text(result, scores, markdown=output == "markdown"), nl=False)
    sys.exit(EXIT_QUERY_ERRORS if result.errors else EXIT_OK)
