"""The SLO files a command was pointed at, as `validate` and `import` find them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from sloguard.errors import SpecError
from sloguard.spec import discover


def discover_or_exit(paths: Sequence[str | Path]) -> list[Path]:
    """The YAML files under ``paths``; a path that cannot be read prints its located problems
    and exits 2, as every problem with the input does."""
    try:
        return discover(paths)
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(2)
