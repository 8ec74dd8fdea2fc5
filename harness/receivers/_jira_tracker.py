"""The state behind the fake Jira Cloud: issues with their labels, assignee, due date, status,
comments and links, a small workflow, and the JQL subset sloguard searches with.

Refusals are :class:`JiraError` carrying Jira's ``ErrorCollection``
(``{"errorMessages": [...], "errors": {field: message}}``) and an HTTP status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NOT_VISIBLE = "Issue does not exist or you do not have permission to see it."
LINK_TYPES = {"Relates", "Blocks", "Cloners", "Duplicate"}  # Jira Cloud's default link types
# The default simplified workflow: every transition is global (to any other status).
STATUSES = {
    "To Do": ("10000", "new", 2),
    "In Progress": ("3", "indeterminate", 4),
    "Done": ("10001", "done", 3),
}
TRANSITIONS = {"11": "To Do", "21": "In Progress", "31": "Done"}
_CLAUSE = re.compile(r'\s*(labels|project|key|status)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s"]+)\s*', re.I)


class JiraError(Exception):
    """A refusal: ``status`` and the ``ErrorCollection`` body."""

    def __init__(
        self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(messages or errors)
        self.status = status
        self.body: dict[str, Any] = {"errorMessages": messages or [], "errors": errors or {}}


@dataclass
class JiraIssue:
    """One issue as Jira keeps it; ``fields`` is the create request's ``fields`` as sent."""

    id: str
    key: str
    project: str
    issuetype: str
    summary: str
    fields: dict[str, Any]
    created_at: float
    status: str = "To Do"
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    duedate: str | None = None
    description: dict[str, Any] | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)  # {type, direction, key}
    transitions: list[str] = field(default_factory=list)  # transition ids done, in order

    def status_view(self) -> dict[str, Any]:
        return status_view(self.status)

    def field_view(self, name: str) -> Any:
        """One field as ``search/jql`` returns it."""
        views: dict[str, Any] = {
            "summary": self.summary,
            "labels": self.labels,
            "status": self.status_view(),
            "duedate": self.duedate,
            "assignee": None if self.assignee is None else {"accountId": self.assignee},
            "description": self.description,
            "project": {"key": self.project},
            "issuetype": {"name": self.issuetype},
            "issuelinks": self.links,
            "comment": {"comments": self.comments, "total": len(self.comments)},
        }
        return views.get(name, self.fields.get(name))


def status_view(name: str) -> dict[str, Any]:
    """A status as Jira shows it (``StatusDetails``)."""
    status_id, category, category_id = STATUSES[name]
    return {
        "id": status_id,
        "name": name,
        "statusCategory": {"id": category_id, "key": category, "name": name},
    }


def match(jql: str) -> list[tuple[str, str]]:
    """``labels = X AND project = P ORDER BY created`` -> ``[("labels", "X"), ("project",
    "P")]``: clauses joined by AND, each ``field = value``. Anything else is refused with
    400, as Jira refuses JQL it cannot parse; an empty query is unbounded, refused too."""
    query = re.split(r"(?:^|\s+)order\s+by\s+", jql.strip(), flags=re.I)[0]
    if not query:
        raise JiraError(
            400,
            [
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query."
            ],
        )
    clauses = []
    for part in re.split(r"\s+AND\s+", query, flags=re.I):
        found = _CLAUSE.fullmatch(part)
        if found is None:
            raise JiraError(400, [f"Error in the JQL Query: cannot parse '{part.strip()}'."])
        value = found.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        clauses.append((found.group(1).lower(), value))
    return clauses


def matches(issue: JiraIssue, clauses: list[tuple[str, str]]) -> bool:
    for name, value in clauses:
        if name == "labels" and value not in issue.labels:
            return False
        if name == "project" and value != issue.project:
            return False
        if name == "key" and value != issue.key:
            return False
        if name == "status" and value.lower() != issue.status.lower():
            return False
    return True


def links_to_add(update: dict[str, Any], known: dict[str, JiraIssue]) -> list[dict[str, str]]:
    """The links of ``update.issuelinks`` (``[{"add": {"type": {"name": ...},
    "outwardIssue"|"inwardIssue": {"key": ...}}}]``); only ``issuelinks`` can be updated."""
    other = sorted(set(update) - {"issuelinks"})
    if other:
        message = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
        raise JiraError(400, errors={name: message.format(name) for name in other})
    links = []
    for operation in update.get("issuelinks", []):
        link = operation.get("add") if isinstance(operation, dict) else None
        if not isinstance(link, dict) or set(operation) != {"add"}:
            raise JiraError(400, errors={"issuelinks": "Only 'add' is supported for issuelinks."})
        kind = (link.get("type") or {}).get("name")
        if kind not in LINK_TYPES:
            raise JiraError(400, errors={"issuelinks": f"No issue link type named '{kind}'."})
        directions = [d for d in ("outwardIssue", "inwardIssue") if d in link]
        if len(directions) != 1:
            raise JiraError(400, errors={"issuelinks": "Give one of outwardIssue, inwardIssue."})
        target = (link[directions[0]] or {}).get("key")
        if target not in known:
            raise JiraError(400, errors={"issuelinks": f"Issue '{target}' does not exist."})
        links.append({"type": kind, "direction": directions[0], "key": target})
    return links
