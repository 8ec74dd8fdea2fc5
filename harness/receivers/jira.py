"""A Jira Cloud REST v3 that enforces ``contracts/jira/`` for issues, comments, transitions
and JQL search.

- ``POST /rest/api/3/issue`` (201 ``{id, key, self}``), ``POST /rest/api/3/search/jql``
  (200 ``{issues, nextPageToken?, isLast}``), ``POST .../issue/{key}/comment`` (201),
  ``GET``/``POST .../issue/{key}/transitions`` (200 / 204). The old ``/rest/api/3/search``
  answers 410 Gone.
- Basic auth with ``email:api_token`` (the email must contain ``@``); else 401.
- Bodies are validated against the request schemas, descriptions and comments against the ADF
  subset (``adf.schema.json``); refusals are 400 with Jira's ``ErrorCollection``, in Jira's
  words where the contract quotes them (summary length or newline, labels with spaces, a plain
  string where ADF is required). Unknown project or issue type -> 400; unknown or invisible
  issue -> 404; a transition not available -> 400.
- Links: ``update.issuelinks`` ``add`` on create (default link types), kept per issue.
- JQL: ``field = value`` clauses joined by ``AND`` over ``labels``, ``project``, ``key`` and
  ``status`` (what sloguard searches with); anything else -> 400. Search is eventually
  consistent when ``search_delay_seconds`` is set: a new issue shows only after that delay,
  unless its id is in ``reconcileIssues`` (read-after-write, as the contract says).
- Burst limit per endpoint and method (``burst_per_second``, rolling second; Jira publishes no
  figure) -> 429 with ``Retry-After``, ``X-RateLimit-*`` and ``RateLimit-Reason``.
- No idempotency: every create is a new issue (search by label first).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from harness.receivers._contracts import contract_validator
from harness.receivers._jira_tracker import (
    NOT_VISIBLE,
    TRANSITIONS,
    JiraError,
    JiraIssue,
    links_to_add,
    match,
    matches,
    status_view,
)
from harness.receivers._server import Arrival, Clock, Receiver, Reply

DEMO_EMAIL = "ops-bot@example.com"
DEMO_API_TOKEN = "sloguard-demo-jira-token"  # public demo value, not a secret  # noqa: S105  # nosec B105
BURST_PER_SECOND = 10
ISSUE_TYPES = {"10001": "Task", "10002": "Bug", "10003": "Sub-task"}
_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)/(comment|transitions)$")
# Jira's own wording for the rules the contract quotes (README, J4 sources).
_MESSAGES = {
    ("summary", "maxLength"): "Summary must be less than 255 characters.",
    ("summary", "pattern"): "The summary is invalid because it contains newline characters.",
    ("summary", "required"): "You must specify a summary of the issue.",
    ("project", "required"): "Specify a valid project ID or key",
    ("issuetype", "required"): "Specify an issue type",
}
_ADF_MESSAGE = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


class JiraReceiver(Receiver):
    """``with JiraReceiver(projects=["OPS"]) as jira: ...``; point the client at ``jira.url``;
    ``jira.issues`` is what Jira holds."""

    service = "jira"

    def __init__(
        self,
        *,
        credentials: Mapping[str, str] | None = None,
        projects: Iterable[str] = ("OPS",),
        burst_per_second: int | None = BURST_PER_SECOND,
        search_delay_seconds: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        self.credentials = dict(credentials or {DEMO_EMAIL: DEMO_API_TOKEN})
        self.projects = list(projects)
        # Project ids as Jira numbers them, in the order given: 10000, 10001, ...
        self.project_ids = {str(10000 + n): key for n, key in enumerate(self.projects)}
        self.burst_per_second = burst_per_second
        self.search_delay_seconds = search_delay_seconds
        self.issues: list[JiraIssue] = []
        self._calls: dict[str, deque[float]] = {}
        self._comments = 0

    def issue(self, key: str) -> JiraIssue:
        """An issue by key or id; KeyError when there is none."""
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found

    def with_label(self, label: str) -> list[JiraIssue]:
        return [i for i in self.issues if label in i.labels]

    def _find(self, ref: str) -> JiraIssue | None:
        return next((i for i in self.issues if ref in (i.key, i.id)), None)

    # --- dispatch --------------------------------------------------------------------------
    def handle(self, arrival: Arrival) -> Reply:
        try:
            self._authenticate(arrival)
            wait = self._throttle(arrival)
            if wait is not None:
                arrival.outcome = "throttled"
                return Reply(429, b"", "text/plain", self._limit_headers(arrival.at, wait))
            status, body = self._route(arrival)
        except JiraError as refused:
            arrival.outcome = "rejected"
            arrival.errors = [*refused.body["errorMessages"], *refused.body["errors"].values()]
            self._check("common.schema.json", "ErrorCollection", refused.body)
            return Reply.json(refused.status, refused.body)
        arrival.outcome = "accepted"
        if status == 204:
            return Reply(204)
        return Reply.json(status, body)

    def _route(self, arrival: Arrival) -> tuple[int, Any]:
        path, verb = arrival.path, arrival.method
        if path == "/rest/api/3/search":
            raise JiraError(
                410, ["The requested API has been removed. Use /rest/api/3/search/jql."]
            )
        if path == "/rest/api/3/issue" and verb == "POST":
            return 201, self._create(arrival)
        if path == "/rest/api/3/search/jql" and verb == "POST":
            return 200, self._search(arrival)
        found = _ISSUE_PATH.match(path)
        if found is None:
            raise JiraError(404, ["Not found"])
        issue = self._find(found.group(1))
        if issue is None:
            raise JiraError(404, [NOT_VISIBLE])
        if found.group(2) == "comment" and verb == "POST":
            return 201, self._comment(arrival, issue)
        if found.group(2) == "transitions" and verb == "GET":
            return 200, self._transitions(issue)
        if found.group(2) == "transitions" and verb == "POST":
            self._transition(arrival, issue)
            return 204, None
        raise JiraError(405, [f"Method {verb} is not allowed here."])

    def _authenticate(self, arrival: Arrival) -> None:
        header = arrival.headers.get("authorization", "")
        try:
            decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        email, _, token = decoded.partition(":")
        if (
            not header.startswith("Basic ")
            or "@" not in email
            or self.credentials.get(email) != token
        ):
            raise JiraError(401, ["You are not authenticated. Authentication required."])

    def _throttle(self, arrival: Arrival) -> int | None:
        """1 when this endpoint and method are over the burst limit, else None (counted)."""
        if self.burst_per_second is None:
            return None
        endpoint = _ISSUE_PATH.sub(r"/rest/api/3/issue/{key}/\2", arrival.path)
        window = self._calls.setdefault(f"{arrival.method} {endpoint}", deque())
        while window and window[0] <= arrival.at - 1:
            window.popleft()
        if len(window) >= self.burst_per_second:
            return 1  # the window is one second; an integer Retry-After can't say less
        window.append(arrival.at)
        return None

    def _limit_headers(self, now: float, wait: int) -> dict[str, str]:
        reset = datetime.fromtimestamp(now + wait, UTC).strftime("%Y-%m-%dT%H:%MZ")
        return {
            "Retry-After": str(wait),
            "X-RateLimit-Reset": reset,
            "X-RateLimit-Limit": str(self.burst_per_second),
            "X-RateLimit-Remaining": "0",
            "RateLimit-Reason": "jira-burst-based",
        }

    # --- requests --------------------------------------------------------------------------
    def _json(self, arrival: Arrival, schema: str) -> dict[str, Any]:
        if not arrival.headers.get("content-type", "").startswith("application/json"):
            raise JiraError(415, ["Unsupported Media Type: use application/json."])
        try:
            body = json.loads(arrival.body)
        except (ValueError, UnicodeDecodeError):
            raise JiraError(400, ["Unexpected character in the request body: not JSON."]) from None
        checker = contract_validator("jira", schema)
        problems = sorted(checker.iter_errors(body), key=lambda e: list(e.absolute_path))
        if problems:
            raise _refusal(problems)
        result: dict[str, Any] = body
        return result

    def _create(self, arrival: Arrival) -> dict[str, Any]:
        body = self._json(arrival, "issue.create.request.schema.json")
        fields = body["fields"]
        ref = fields["project"]
        project = ref.get("key") or self.project_ids.get(ref.get("id"))
        if project not in self.projects:
            raise JiraError(400, errors={"project": "Specify a valid project ID or key"})
        issuetype = fields["issuetype"].get("name") or ISSUE_TYPES.get(fields["issuetype"]["id"])
        if not isinstance(issuetype, str) or issuetype not in ISSUE_TYPES.values():
            raise JiraError(400, errors={"issuetype": "Specify a valid issue type"})
        if (issuetype == "Sub-task") != ("parent" in fields):
            raise JiraError(400, errors={"parent": "Sub-tasks need a parent; others none."})
        known = {i.key: i for i in self.issues}
        links = links_to_add(body.get("update", {}), known)
        number = sum(i.project == project for i in self.issues) + 1
        assignee = fields.get("assignee") or {}
        issue = JiraIssue(
            id=str(10000 + len(self.issues) + 1),
            key=f"{project}-{number}",
            project=project,
            issuetype=issuetype,
            summary=fields["summary"],
            fields=fields,
            created_at=arrival.at,
            labels=list(fields.get("labels", [])),
            assignee=assignee.get("accountId") or assignee.get("id"),
            duedate=fields.get("duedate"),
            description=fields.get("description"),
            links=links,
        )
        self.issues.append(issue)
        for link in links:  # Jira shows a link from both ends
            other = "inwardIssue" if link["direction"] == "outwardIssue" else "outwardIssue"
            known[link["key"]].links.append({**link, "direction": other, "key": issue.key})
        created = {"id": issue.id, "key": issue.key, "self": self._self(issue)}
        return self._check("issue.create.responses.schema.json", "Created201", created)

    def _search(self, arrival: Arrival) -> dict[str, Any]:
        body = self._json(arrival, "search.jql.request.schema.json")
        clauses = match(body["jql"])
        reconcile = {str(i) for i in body.get("reconcileIssues", [])}
        visible = [
            i
            for i in self.issues
            if i.id in reconcile or arrival.at - i.created_at >= self.search_delay_seconds
        ]
        found = [i for i in visible if matches(i, clauses)]
        start = _page_start(body.get("nextPageToken"))
        size = body.get("maxResults", 50)
        page = found[start : start + size]
        names = body.get("fields", ["id"])
        issues = [
            {
                "id": i.id,
                "key": i.key,
                "self": self._self(i),
                "fields": {n: i.field_view(n) for n in names if n not in ("id", "key")},
            }
            for i in page
        ]
        last = start + size >= len(found)
        answer: dict[str, Any] = {"issues": issues, "isLast": last}
        if not last:
            answer["nextPageToken"] = base64.b64encode(f"at:{start + size}".encode()).decode()
        return self._check("search.jql.responses.schema.json", "Ok200", answer)

    def _comment(self, arrival: Arrival, issue: JiraIssue) -> dict[str, Any]:
        body = self._json(arrival, "issue.comment.add.request.schema.json")
        return self._add_comment(arrival.at, issue, body["body"], body.get("visibility"))

    def _add_comment(
        self, at: float, issue: JiraIssue, adf: dict[str, Any], visibility: Any = None
    ) -> dict[str, Any]:
        self._comments += 1
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        comment: dict[str, Any] = {
            "id": str(10000 + self._comments),
            "self": f"{self._self(issue)}/comment/{10000 + self._comments}",
            "author": {"accountId": "sloguard-bot", "displayName": "sloguard"},
            "body": adf,
            "created": stamp,
            "updated": stamp,
        }
        if visibility is not None:
            comment["visibility"] = visibility
        issue.comments.append(comment)
        return self._check("issue.comment.add.responses.schema.json", "Created201", comment)

    def _transitions(self, issue: JiraIssue) -> dict[str, Any]:
        shown = [
            {
                "id": tid,
                "name": target,
                "to": status_view(target),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
            }
            for tid, target in TRANSITIONS.items()
            if target != issue.status
        ]
        answer = {"expand": "transitions", "transitions": shown}
        return self._check("issue.transitions.get.responses.schema.json", "Ok200", answer)

    def _transition(self, arrival: Arrival, issue: JiraIssue) -> None:
        body = self._json(arrival, "issue.transitions.do.request.schema.json")
        tid = body["transition"]["id"]
        if TRANSITIONS.get(tid) in (None, issue.status):
            raise JiraError(400, [f"Transition id '{tid}' is not valid for this issue."])
        issue.status = TRANSITIONS[tid]
        issue.transitions.append(tid)
        for operation in body.get("update", {}).get("comment", []):
            self._add_comment(arrival.at, issue, operation["add"]["body"])

    # --- answers ---------------------------------------------------------------------------
    def _self(self, issue: JiraIssue) -> str:
        return f"{self.url}/rest/api/3/issue/{issue.id}"

    def _check(self, schema: str, definition: str, body: dict[str, Any]) -> dict[str, Any]:
        problems = [
            e.message for e in contract_validator("jira", schema, definition).iter_errors(body)
        ]
        assert not problems, (definition, problems)
        return body


def _page_start(token: str | None) -> int:
    if token is None:
        return 0
    try:
        kind, _, at = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        kind, at = "", ""
    if kind != "at" or not at.isdigit():
        raise JiraError(400, ["The nextPageToken is invalid or expired."])
    return int(at)


def _refusal(problems: list[Any]) -> JiraError:
    """Schema errors as an ErrorCollection: one message per field of ``fields``, in Jira's
    words where known; errors outside ``fields`` go to ``errorMessages``."""
    messages: list[str] = []
    errors: dict[str, str] = {}
    for problem in problems:
        path = [str(p) for p in problem.absolute_path]
        missing = re.match(r"'([^']+)' is a required property", problem.message)
        if path[:1] == ["fields"] and (len(path) > 1 or missing):
            name = path[1] if len(path) > 1 else missing.group(1) if missing else ""
            errors.setdefault(name, _field_message(name, problem, missing is not None))
        else:
            where = "/".join(path)
            messages.append(f"{where}: {problem.message}" if where else problem.message)
    return JiraError(400, messages, errors)


def _field_message(name: str, problem: Any, missing: bool) -> str:
    keyword = "required" if missing else problem.validator
    if (name, keyword) in _MESSAGES:
        return _MESSAGES[(name, keyword)]
    if name == "project":
        return "Specify a valid project ID or key"
    if name in ("description", "environment"):
        return _ADF_MESSAGE
    if name == "labels" and isinstance(problem.instance, str):
        return f"The label '{problem.instance}' contains spaces which is invalid."
    if name == "duedate":
        return f"Error parsing date string: {problem.instance}"
    return str(problem.message)


__all__ = ["DEMO_API_TOKEN", "DEMO_EMAIL", "JiraIssue", "JiraReceiver"]
