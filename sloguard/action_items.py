"""The action items of an edited postmortem, read for ``sloguard postmortem push``. Pure.

An item is a Markdown task line with its owner (a Jira account id) and due date::

    - [ ] Add a canary for checkout (owner: 5b10ac8d82e05b22cc7d4ef5, due: 2024-04-01)

Action items must be specific, owned and dated: an item without an owner or a due date is
refused with its file, line and what is missing. The episode is the one the draft names
(``Episode id: `sloguard-...```).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sloguard.errors import Location, PostmortemError, Problem

_TASK = re.compile(r"^\s*[-*]\s+\[(?P<done>[ xX])\]\s+(?P<body>.*\S)\s*$")
_META = re.compile(r"\((?P<meta>[^()]*\b(?:owner|due)\s*:[^()]*)\)\s*$")
_EPISODE = re.compile(r"\bsloguard-[0-9a-f]{32}\b")
_ACCOUNT = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
EXAMPLE = "- [ ] Add a canary for checkout (owner: 5b10ac8d82e05b22cc7d4ef5, due: 2024-04-01)"


@dataclass(frozen=True, slots=True)
class ActionItem:
    text: str
    owner: str  # Jira account id
    due: str  # YYYY-MM-DD
    line: int
    done: bool = False


@dataclass(frozen=True, slots=True)
class EditedPostmortem:
    episode_id: str
    items: tuple[ActionItem, ...]


def parse(text: str, file: str) -> EditedPostmortem:
    """The episode and the action items of ``text``; PostmortemError with every problem."""
    problems: list[Problem] = []
    items: list[ActionItem] = []
    for number, line in enumerate(text.splitlines(), 1):
        task = _TASK.match(line)
        if task is None:
            continue
        item = _item(task.group("body"), task.group("done") != " ", file, number, problems)
        if item is not None:
            items.append(item)
    found = _EPISODE.search(text)
    if found is None:
        problems.insert(
            0,
            Problem(
                Location(file, 1, 1),
                "no episode id (sloguard-<32 hex digits>) in the postmortem: keep the draft's "
                "'Episode id' line so the items can be linked to its postmortem issue",
            ),
        )
    if not items and found is not None and not problems:
        problems.append(Problem(Location(file, 1, 1), f"no action items; write them as: {EXAMPLE}"))
    if problems:
        raise PostmortemError(problems)
    assert found is not None
    return EditedPostmortem(found.group(0), tuple(items))


def _item(
    body: str, done: bool, file: str, line: int, problems: list[Problem]
) -> ActionItem | None:
    meta = _META.search(body)
    fields: dict[str, str] = {}
    if meta is not None:
        for part in meta.group("meta").split(","):
            key, _, value = part.partition(":")
            fields[key.strip().lower()] = value.strip()
    text = body[: meta.start()].strip() if meta is not None else body
    column = 1
    missing = [name for name in ("owner", "due") if not fields.get(name)]
    if missing:
        problems.append(
            Problem(
                Location(file, line, column),
                f"action item {text[:60]!r} has no {' and no '.join(missing)}: action items "
                f"must be specific, owned and dated, e.g. {EXAMPLE}",
                "action item",
            )
        )
        return None
    owner, due = fields["owner"], fields["due"]
    if not _ACCOUNT.match(owner):
        problems.append(
            Problem(
                Location(file, line, column),
                f"action item {text[:60]!r}: owner {owner!r} is not a Jira account id "
                "(e.g. 5b10ac8d82e05b22cc7d4ef5)",
                "owner",
            )
        )
        return None
    try:
        date.fromisoformat(due)
    except ValueError:
        problems.append(
            Problem(
                Location(file, line, column),
                f"action item {text[:60]!r}: due {due!r} is not a date; use YYYY-MM-DD",
                "due",
            )
        )
        return None
    if not text:
        problems.append(Problem(Location(file, line, column), "action item without a text"))
        return None
    return ActionItem(text, owner, due, line, done)
