"""``sloguard gate``: may a release go out? The error-budget policy as an exit status."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from sloguard.cli._prometheus import Connection, connection_options, prometheus_config
from sloguard.cli.evaluate import evaluate_at, parse_at
from sloguard.clock import SystemClock
from sloguard.errors import SloguardError, SpecError
from sloguard.gate import Decision, OnUnknown, Policy, decide, decision_json, slos_by_key
from sloguard.model import SLO, Severity
from sloguard.prometheus import PrometheusClient

EXIT_ALLOWED = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3

EPILOG = """\b
Exit status:
  0  allowed: every selected SLO has the budget left and burns at most --max-severity
  1  blocked: some SLO has less budget left or burns faster (one reason per line)
  2  usage error, invalid SLO definitions, or --slo/--service that select nothing
  3  unknown: no data or Prometheus unreachable (with --on-unknown allow: 0)

\b
Examples:
  sloguard gate slo_definitions/ --prometheus http://prometheus:9090 --service checkout
  sloguard gate slos/ --prometheus $URL --min-budget-percent 25 --max-severity OK -o json
"""


def _select(slos: list[SLO], names: tuple[str, ...], services: tuple[str, ...]) -> list[SLO]:
    """The SLOs a policy asks about; exits 2 naming what selects nothing (a typo is no pass)."""
    known_names = {s.name for s in slos}
    known_services = {s.service for s in slos}
    for name in names:
        if name not in known_names:
            _usage(f"--slo {name}: no such SLO; known: {', '.join(sorted(known_names))}")
    for service in services:
        if service not in known_services:
            _usage(f"--service {service}: no SLO of that service; "
                   f"known: {', '.join(sorted(known_services))}")  # fmt: skip
    return [
        s
        for s in slos
        if (not names or s.name in names) and (not services or s.service in services)
    ]


def _usage(message: str) -> None:
    click.echo(f"sloguard: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _exit_status(decision: Decision) -> int:
    if decision.allowed:
        return EXIT_ALLOWED
    return EXIT_UNKNOWN if decision.unknown else EXIT_BLOCKED


def _text(decision: Decision, at: float) -> str:
    from sloguard.durations import iso_time

    if decision.allowed and not decision.reasons:
        head = "allowed"
    elif decision.allowed:
        head = "allowed (unknowns allowed by --on-unknown allow)"
    else:
        head = "unknown: blocked (--on-unknown block)" if decision.unknown else "blocked"
    plural = "" if decision.checked == 1 else "s"
    lines = [f"{head}: {decision.checked} SLO{plural} checked at {iso_time(at)}"]
    return "\n".join([*lines, *decision.reasons])


@click.command("gate", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--prometheus", "url", required=True, envvar="SLOGUARD_PROMETHEUS_URL",
              metavar="URL", help="Prometheus base URL (env SLOGUARD_PROMETHEUS_URL).")  # fmt: skip
@click.option("--at", "at_text", metavar="RFC3339|UNIX", help="Decide as of this instant, not now.")
@click.option("--slo", "names", multiple=True, metavar="NAME", help="Only this SLO (repeatable).")
@click.option("--service", "services", multiple=True, metavar="S",
              help="Only the SLOs of this service (repeatable).")  # fmt: skip
@click.option("--min-budget-percent", type=click.FloatRange(0, 100), default=10.0,
              show_default=True, help="Budget each SLO must have left, in percent.")  # fmt: skip
@click.option("--max-severity", type=click.Choice(["OK", "SEV3", "SEV2"], case_sensitive=False),
              default="SEV3", show_default=True,
              help="The worst burn that still allows a release.")  # fmt: skip
@click.option("--on-unknown", type=click.Choice(["allow", "block"]), default="block",
              show_default=True,
              help="When the answer cannot be known: fail open or closed.")  # fmt: skip
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for scripts.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.1, max=300), default=10.0, show_default=True,
              help="Seconds to wait for each query.")  # fmt: skip
@click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Extra attempts on transient errors (connect, timeout, 5xx, 429).")  # fmt: skip
@connection_options
def gate(
    paths: tuple[Path, ...],
    url: str,
    at_text: str | None,
    names: tuple[str, ...],
    services: tuple[str, ...],
    min_budget_percent: float,
    max_severity: str,
    on_unknown: str,
    output: str,
    timeout: float,
    retries: int,
    connection: Connection,
) -> None:
    """Decide whether a release may go out, from the error budgets of the SLOs in PATH...

    Blocks when a selected SLO has less than --min-budget-percent of its error budget left
    over its period, or burns at a severity above --max-severity. The daemon answers the same
    question from its last evaluation at GET /api/v1/gate.
    """
    at = parse_at(at_text) if at_text else SystemClock().now()
    config = prometheus_config(url, timeout, retries, connection)
    policy = Policy(
        min_budget_percent=min_budget_percent,
        max_severity=Severity.parse(max_severity),
        on_unknown=OnUnknown(on_unknown),
    )
    from sloguard.spec import load_slos

    try:
        slos = _select(load_slos([str(p) for p in paths]), names, services)
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_USAGE)
    if not slos:
        _usage(f"no SLOs found in {', '.join(map(str, paths))}")
    try:
        evaluations, unreachable = asyncio.run(evaluate_at(config, slos, at))
    except SloguardError as exc:  # e.g. an unreadable token or CA file
        _usage(str(exc))
    except Exception as exc:  # noqa: BLE001 - a pipeline gets "unknown", never a traceback
        click.echo(f"sloguard: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_UNKNOWN)
    if unreachable:
        where = PrometheusClient.display(config)
        click.echo(f"sloguard: error: Prometheus at {where} could not be reached: {unreachable}",
                   err=True)  # fmt: skip
    decision = decide(evaluations, slos_by_key(evaluations, slos), policy)
    if output == "json":
        click.echo(json.dumps(decision_json(decision, at), indent=2, allow_nan=False))
    else:
        click.echo(_text(decision, at))
    sys.exit(_exit_status(decision))
