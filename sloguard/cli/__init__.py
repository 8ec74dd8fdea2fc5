"""The ``sloguard`` command line: thin click commands over the services.

Each command lives in its own module and is registered here.
"""

from __future__ import annotations

import click

from sloguard import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sloguard")
def main() -> None:
    """sloguard: SLO burn-rate alerting and incident auto-declaration.

    Describe SLOs in YAML, check them with `validate`, see how fast each one burns its error
    budget with `evaluate`, and run the daemon with `run` to page on-call and declare incidents.
    Every command has its own --help.
    """


def _register() -> None:
    from sloguard.cli.backtest import backtest
    from sloguard.cli.evaluate import evaluate
    from sloguard.cli.gate import gate
    from sloguard.cli.generate import generate
    from sloguard.cli.import_ import import_
    from sloguard.cli.postmortem import postmortem
    from sloguard.cli.report import report
    from sloguard.cli.run import run
    from sloguard.cli.validate import validate

    main.add_command(validate)
    main.add_command(import_)
    main.add_command(evaluate)
    main.add_command(run)
    main.add_command(generate)
    main.add_command(backtest)
    main.add_command(postmortem)
    main.add_command(gate)
    main.add_command(report)


_register()

__all__ = ["main"]
