"""``sloguard import``: convert Sloth, OpenSLO and Pyrra files into native sloguard/v1 YAML."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from sloguard.cli._files import discover_or_exit
from sloguard.spec import load, native_yaml
from sloguard.spec._build import build


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o",
    "--output-dir",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one <name>.yaml per input file into this directory (created if missing). "
    "Without it, everything is printed to stdout.",
)
def import_(paths: tuple[str, ...], output_dir: Path | None) -> None:
    """Convert Sloth, OpenSLO and Pyrra SLO files in PATHS into native sloguard/v1 YAML.

    Reads Sloth 'version: prometheus/v1' specs, Sloth 'sloth.slok.dev/v1'
    PrometheusServiceLevel manifests, OpenSLO 'openslo/v1' / 'openslo/v1alpha' documents and
    Pyrra 'pyrra.dev/v1alpha1' ServiceLevelObjectives (files, or directories searched for
    *.yaml and *.yml). Names, objectives, queries and
    labels are kept; Sloth's page and ticket alerts become the SEV1/SEV2 and SEV3 tiers.

    Whatever sloguard cannot represent (alert names, per-alert labels, annotations other than
    runbook/dashboard URLs, OpenSLO alert policies) is reported on stderr as a warning;
    nothing is dropped silently. Documents with errors are reported and not written.

    Exit status: 0 when everything converted, 1 when any document had errors or when
    there was no SLO to import (it says what it found instead), 2 on usage errors.

    \b
    Examples:
      sloguard import sloth/getting-started.yml
      sloguard import -o slo_definitions/ sloth/ openslo/
    """
    files = discover_or_exit(paths)
    result = load(files, check_duplicates=True)
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for draft in result.drafts:
        slo, _ = build(draft.doc)
        if slo is not None:
            by_file[draft.doc.file].append(draft.doc.data)
    for problem in result.problems + result.warnings:
        click.echo(str(problem), err=True)
    if not by_file:
        if not result.problems:  # errors already say why; otherwise say what was there
            click.echo(_nothing(result.files, result.found), err=True)
        sys.exit(1)
    if output_dir is None:
        texts = [
            native_yaml(docs, header=f"imported from {file} by sloguard import")
            for file, docs in by_file.items()
        ]
        click.echo("---\n".join(texts), nl=False)
    else:
        output_dir.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        for file, docs in by_file.items():
            target = _target(output_dir, Path(file), used)
            target.write_text(
                native_yaml(docs, header=f"imported from {file} by sloguard import"),
                encoding="utf-8",
            )
            click.echo(f"{file} -> {target} ({len(docs)} SLO(s))", err=True)
    sys.exit(1 if result.problems else 0)


def _nothing(files: list[Path], found: dict[str, int]) -> str:
    """Why there was nothing to import, naming the documents that were there."""
    if not files:
        return "nothing to import: no *.yaml or *.yml files under the given paths"
    what = ", ".join(f"{n} {kind}" for kind, n in sorted(found.items())) or "no YAML documents"
    return (
        f"nothing to import from {len(files)} file(s): found {what}; sloguard imports SLOs "
        "(Sloth prometheus/v1 or PrometheusServiceLevel, OpenSLO SLO, sloguard/v1 SLO)"
    )


def _target(directory: Path, source: Path, used: set[str]) -> Path:
    stem = source.stem
    name = f"{stem}.yaml"
    n = 2
    while name in used:
        name = f"{stem}-{n}.yaml"
        n += 1
    used.add(name)
    return directory / name
