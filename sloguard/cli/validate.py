"""``sloguard validate``: check SLO files the way CI should, with located, actionable errors."""

from __future__ import annotations

import json
import sys

import click

from sloguard.cli._files import discover_or_exit
from sloguard.errors import Problem
from sloguard.spec import load


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one 'FILE:LINE:COLUMN: error: message' line per problem; json: a JSON list.",
)
@click.option(
    "--ignore-duplicates",
    is_flag=True,
    help="Do not fail on SLO names defined twice (like Sloth's --ignore-slo-duplicates).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only: no warnings, no summary.")
def validate(paths: tuple[str, ...], fmt: str, ignore_duplicates: bool, quiet: bool) -> None:
    """Check SLO definitions in PATHS (files, or directories searched for *.yaml and *.yml).

    Reads native sloguard/v1 files, Sloth specs (version: prometheus/v1 and the
    sloth.slok.dev/v1 PrometheusServiceLevel CRD) and OpenSLO (openslo/v1, openslo/v1alpha).
    Checks YAML syntax, the schema (unknown fields, with a "did you mean" hint), value ranges,
    durations, that every PromQL query parses and uses {{.window}}, that SLO names are unique
    across all files, and that no alert tier is impossible to fire.

    Exit status: 0 when everything is valid, 1 when any document is invalid, 2 on usage errors.

    \b
    Examples:
      sloguard validate slo_definitions/
      sloguard validate --format json slo_definitions/ sloth/*.yml
    """
    files = discover_or_exit(paths)
    if not files:
        click.echo(f"error: no *.yaml or *.yml files under {' '.join(paths)}", err=True)
        sys.exit(2)
    result = load(files, check_duplicates=not ignore_duplicates)
    warnings = [] if quiet else result.warnings
    if fmt == "json":
        rows = [p.as_dict() for p in _ordered(result.problems + warnings)]
        click.echo(json.dumps(rows, indent=2))
    else:
        for problem in _ordered(result.problems + warnings):
            click.echo(str(problem))
        if not quiet:
            summary = (
                f"{len(result.slos)} SLO(s) in {len(result.files)} file(s): "
                + (f"{len(result.problems)} error(s)" if result.problems else "valid")
                + (f", {len(warnings)} warning(s)" if warnings else "")
            )
            click.echo(summary, err=True)
    sys.exit(1 if result.problems else 0)


def _ordered(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.location.file, p.location.line, p.location.column))
