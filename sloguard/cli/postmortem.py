"""``sloguard postmortem``: the blameless postmortem draft of a recorded episode."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from sloguard.app import open_state
from sloguard.config import load_config
from sloguard.durations import iso_time
from sloguard.errors import ConfigError, SloguardError, SpecError, StoreError
from sloguard.model import SLO
from sloguard.postmortem import SloFacts, budget_consumed, render
from sloguard.records import EpisodeRecord
from sloguard.store import AnyStore, Store

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2

EPILOG = """\b
Exit status:
  0  the draft (or the list) was printed
  1  no such episode, or the state database cannot be read
  2  usage or config error

\b
Examples:
  sloguard postmortem --list --config sloguard.yaml
  sloguard postmortem sloguard-3f2a9c --config sloguard.yaml > postmortem.md
  sloguard postmortem sloguard-3f2a9c1e... --state /var/lib/sloguard/sloguard.db
"""


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"sloguard: {message}", err=True)
    sys.exit(code)


def _slo_for(slos: list[SLO], key: str) -> SLO | None:
    matches = [s for s in slos if key == s.name or key.startswith(s.name + "{")]
    return max(matches, key=lambda s: len(s.name)) if matches else None


def _facts(store: AnyStore, episode: EpisodeRecord, slos: list[SLO]) -> SloFacts:
    slo = _slo_for(slos, episode.slo)
    if slo is not None:
        return SloFacts.of(slo)
    payload = store.latest_payload(episode.id)
    return SloFacts.from_notification(payload) if payload else SloFacts()


def _find(store: AnyStore, wanted: str) -> EpisodeRecord:
    exact = store.episode(wanted)
    if exact is not None:
        return exact
    found = [e for e in store.episodes() if e.id.startswith(wanted)]
    if len(found) == 1:
        return found[0]
    if found:
        ids = ", ".join(e.id for e in found[:5])
        _fail(f"episode id {wanted!r} is ambiguous: {ids}; give more of it", EXIT_NOT_FOUND)
    _fail(
        f"no episode {wanted!r} in {store.path}; `sloguard postmortem --list` shows them",
        EXIT_NOT_FOUND,
    )


def _listing(store: AnyStore, slos: list[SLO], slo: str | None) -> str:
    head = ["EPISODE", "SLO", "DECLARED", "RESOLVED", "PEAK", "PEAK BURN", "BUDGET USED"]
    rows = []
    for e in store.episodes(slo):
        facts = _facts(store, e, slos)
        used = budget_consumed(e.burn_seconds, facts.period_seconds)
        rows.append(
            [
                e.id,
                e.slo,
                iso_time(e.declared_at),
                iso_time(e.resolved_at) if e.resolved_at is not None else "open",
                e.peak,
                "-" if e.peak_burn_rate is None else f"{e.peak_burn_rate:.1f}x",
                "-" if used is None else f"{used * 100:.1f}%",
            ]
        )
    if not rows:
        return f"no episodes recorded in {store.path}\n"
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    return "\n".join(line.rstrip() for line in lines) + "\n"


@click.command("postmortem", epilog=EPILOG)
@click.argument("episode_id", required=False)
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The daemon config: its state_path and SLO definitions are used.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The state database itself (SLO facts then come from the stored notifications).",
)
@click.option("--list", "listing", is_flag=True, help="List the recorded episodes instead.")
@click.option("--slo", metavar="NAME", help="With --list: only the episodes of this SLO key.")
@click.option("--notifier", metavar="NAME", help="With push: the jira notifier to use.")
def postmortem(
    episode_id: str | None,
    file: Path | None,
    config_path: Path | None,
    state_path: Path | None,
    listing: bool,
    slo: str | None,
    notifier: str | None,
) -> None:
    """Print the blameless postmortem draft (Markdown) of the episode EPISODE_ID.

    ``sloguard postmortem push FILE --config C`` instead creates one Jira issue per action
    item of the edited postmortem FILE (``- [ ] text (owner: ACCOUNT_ID, due: YYYY-MM-DD)``),
    linked to the episode's postmortem issue; items pushed before are not created again.

    The draft holds the timeline from the first burn to the resolve (declaration, every
    escalation and de-escalation, every notification and whether it arrived), the impact in SLO
    terms (peak burn rate, error budget consumed and remaining, affected service and owner),
    links to the runbook and dashboard, and empty sections for contributing factors and action
    items. The same draft travels in the incident.resolved webhook. A unique prefix of the
    episode id is enough.
    """
    if episode_id == "push":
        if file is None or config_path is None:
            raise click.UsageError("push needs the edited postmortem FILE and --config")
        from sloguard.cli._push import push

        sys.exit(push(file, config_path, notifier))
    if file is not None:
        raise click.UsageError(f"unexpected argument {str(file)!r}")
    if (config_path is None) == (state_path is None):
        raise click.UsageError("give exactly one of --config FILE or --state PATH")
    if listing == (episode_id is not None):
        raise click.UsageError("give an EPISODE_ID, or --list")
    slos: list[SLO] = []
    state_url: str | None = None
    if config_path is not None:
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            sys.exit(EXIT_USAGE)
        state_url = config.state_url
        state_path = Path(config.state_path) if config.state_path else None
        from sloguard.spec import load_slos

        try:
            slos = load_slos(config.slo_paths)
        except SpecError as exc:  # the draft can still be written from the stored notifications
            click.echo(
                f"sloguard: warning: SLO definitions do not load ({len(exc.problems)} problem(s));"
                " using the facts stored with the notifications",
                err=True,
            )
    try:
        store: AnyStore
        if state_url is not None:
            store = open_state(config)
        else:
            assert state_path is not None
            store = Store.open(state_path, read_only=True)
    except StoreError as exc:
        _fail(str(exc), EXIT_NOT_FOUND)
    try:
        if listing:
            click.echo(_listing(store, slos, slo), nl=False)
            sys.exit(EXIT_OK)
        assert episode_id is not None
        episode = _find(store, episode_id)
        click.echo(render(episode, _facts(store, episode, slos)), nl=False)
    except SloguardError as exc:
        _fail(str(exc), EXIT_NOT_FOUND)
    finally:
        store.close()
    sys.exit(EXIT_OK)
