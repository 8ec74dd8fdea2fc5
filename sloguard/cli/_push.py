"""``sloguard postmortem push FILE --config C``: the edited postmortem's action items into Jira."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
import httpx

from sloguard.action_items import ActionItem, EditedPostmortem, parse
from sloguard.config import load_config
from sloguard.errors import ConfigError, DeliveryError, PostmortemError
from sloguard.notify.jira import JiraConfig, push_action_items
from sloguard.secrets import read_secret

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def push(file: Path, config_path: Path, notifier: str | None) -> int:
    """Create the action items of ``file``; the exit status."""
    try:
        edited = parse(file.read_text(encoding="utf-8"), str(file))
    except OSError as exc:
        click.echo(f"sloguard: cannot read {file}: {exc.strerror}", err=True)
        return EXIT_USAGE
    except PostmortemError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        return EXIT_USAGE
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        return EXIT_USAGE
    jiras = [n for n in config.notifiers if isinstance(n, JiraConfig)]
    chosen = [n for n in jiras if notifier is None or n.name == notifier]
    if len(chosen) != 1:
        names = ", ".join(n.name for n in jiras) or "none"
        click.echo(
            f"sloguard: {config_path}: choose one jira notifier with --notifier (configured: "
            f"{names})",
            err=True,
        )
        return EXIT_USAGE
    jira = chosen[0]
    try:
        token = read_secret(
            file=jira.api_token_file,
            env=jira.api_token_env,
            what=f"notifier {jira.name!r}: api_token",
            where=config.where(jira.name),
        ).get_secret_value()
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        return EXIT_USAGE
    try:
        results = asyncio.run(_push(jira, token, edited))
    except DeliveryError as exc:
        click.echo(f"sloguard: {exc}", err=True)
        return EXIT_FAILED
    for item, key, created in results:
        click.echo(f"{key}  {'created' if created else 'exists '}  {item.text}")
    return EXIT_OK


async def _push(
    jira: JiraConfig, token: str, edited: EditedPostmortem
) -> list[tuple[ActionItem, str, bool]]:
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
        return await push_action_items(jira, client, token, edited)
