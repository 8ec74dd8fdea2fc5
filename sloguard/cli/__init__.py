"""The ``sloguard`` command line: thin click commands over the services.

Each command lives in its own module, named here and imported when it runs.
"""

from __future__ import annotations

import importlib

import click

from sloguard import __version__

# Each command's module, imported when the command runs (or a help lists it): `sloguard
# evaluate` does not load the daemon, the web server, the notifiers and the backtest, about
# half of a one-shot command's start.
_COMMANDS = {
    "backtest": "sloguard.cli.backtest:backtest",
    "evaluate": "sloguard.cli.evaluate:evaluate",
    "gate": "sloguard.cli.gate:gate",
    "generate": "sloguard.cli.generate:generate",
    "import": "sloguard.cli.import_:import_",
    "postmortem": "sloguard.cli.postmortem:postmortem",
    "report": "sloguard.cli.report:report",
    "run": "sloguard.cli.run:run",
    "validate": "sloguard.cli.validate:validate",
}


class _Commands(click.Group):
    """The command group, each command imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None or cmd_name in self.commands:
            return self.commands.get(cmd_name)
        module, name = target.split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        self.add_command(command, cmd_name)
        return command


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="sloguard")
def main() -> None:
    """sloguard: SLO burn-rate alerting and incident auto-declaration.

    Describe SLOs in YAML, check them with `validate`, see how fast each one burns its error
    budget with `evaluate`, and run the daemon with `run` to page on-call and declare incidents.
    Every command has its own --help.
    """


__all__ = ["main"]
