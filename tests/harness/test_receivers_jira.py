"""The Jira Cloud receiver is strict: each request the contract forbids is refused with Jira's
error collection, the valid version is accepted, and search paging, links and the burst limit
behave as the contract says."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.receivers import JiraReceiver
from harness.receivers._contracts import contract_validator
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from tests.support.receivers import Clock, contract_examples, example, http

JIRA_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()
}


@pytest.mark.parametrize(("folder", "case"), contract_examples("jira"))
def test_contract_examples_hold(folder: str, case: dict[str, Any]) -> None:
    """The vendored Jira Cloud schemas accept and refuse the contract's own examples, through the
    same registry the receivers use."""
    checker = contract_validator(folder, case["schema"], case.get("def"))
    errors = list(checker.iter_errors(example(folder, case["file"])))
    assert (not errors) == (case["expect"] == "valid"), [e.message for e in errors]


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraReceiver]:
    with JiraReceiver(projects=["SRE", "OPS"], burst_per_second=None) as receiver:
        yield receiver


def jpost(r: JiraReceiver, path: str, body: Any) -> httpx.Response:
    return http.post(f"{r.url}/rest/api/3/{path}", json=body, headers=JIRA_AUTH)


def task(**fields: Any) -> dict[str, Any]:
    return {
        "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s"}
        | fields
    }


def jira_case(stem: str, field: str | None, text: str) -> Any:
    """A refused example of the contract, sent where its name says."""
    path = {
        "create-issue": "issue",
        "search": "search/jql",
        "comment": "issue/OPS-1/comment",
        "transition": "issue/OPS-1/transitions",
    }[stem.split(".")[0]]
    return pytest.param(path, example("jira", f"{stem}.json"), field, text, id=stem)


def linked(kind: str, key: str) -> dict[str, Any]:
    return {"issuelinks": [{"add": {"type": {"name": kind}, "outwardIssue": {"key": key}}}]}


ADF = "Atlassian Document"
JIRA_REFUSED = [
    jira_case("create-issue.invalid-label-space", "labels", "contains spaces which is invalid"),
    jira_case("create-issue.invalid-summary-256", "summary", "must be less than 255 characters"),
    jira_case("create-issue.invalid-summary-newline", "summary", "newline characters"),
    jira_case("create-issue.invalid-description-string", "description", ADF),
    jira_case("create-issue.invalid-adf-code-plus-strong", "description", ADF),
    jira_case("create-issue.invalid-adf-empty-text", "description", ADF),
    jira_case("create-issue.invalid-missing-issuetype", "issuetype", "Specify an issue type"),
    jira_case("create-issue.invalid-duedate", "duedate", "Error parsing date string"),
    jira_case("create-issue.invalid-project-name", "project", "Specify a valid project"),
    jira_case("create-issue.invalid-components-strings", "components", ""),
    jira_case("search.invalid-startAt", None, "startAt"),
    jira_case("search.invalid-fields-string", None, "fields"),
    jira_case("search.invalid-maxResults", None, "maxResults"),
    jira_case("comment.invalid-string-body", None, "body"),
    jira_case("comment.invalid-visibility", None, "visibility"),
    jira_case("transition.invalid-missing-transition", None, "transition"),
    jira_case("transition.invalid-numeric-id", None, "transition"),
    pytest.param(
        "issue",
        task(description={"type": "doc", "version": 2, "content": []}),
        "description",
        ADF,
        id="adf-version-2",
    ),
    pytest.param(
        "issue",
        task(description={"type": "doc", "version": 1, "content": [{"type": "table"}]}),
        "description",
        ADF,
        id="adf-table",
    ),
    pytest.param(
        "issue",
        task(project={"key": "NOPE"}),
        "project",
        "Specify a valid project",
        id="project-unknown",
    ),
    pytest.param(
        "issue",
        task(issuetype={"name": "Epic"}),
        "issuetype",
        "Specify a valid issue type",
        id="type-unknown",
    ),
    pytest.param(
        "issue", task(assignee={"accountId": "a" * 129}), "assignee", "", id="account-129"
    ),
    pytest.param(
        "issue",
        task() | {"update": linked("Relates", "OPS-999")},
        "issuelinks",
        "does not exist",
        id="link-no-issue",
    ),
    pytest.param(
        "issue",
        task() | {"update": linked("Causes", "OPS-1")},
        "issuelinks",
        "No issue link type",
        id="link-type",
    ),
    pytest.param(
        "issue",
        task() | {"update": {"labels": [{"add": "x"}]}},
        "labels",
        "cannot be set",
        id="update-labels",
    ),
    pytest.param(
        "search/jql",
        {"jql": "summary ~ checkout"},
        None,
        "Error in the JQL Query",
        id="jql-unsupported",
    ),
    pytest.param(
        "search/jql", {"jql": "ORDER BY created"}, None, "Unbounded JQL", id="jql-unbounded"
    ),
    pytest.param(
        "search/jql",
        {"jql": "project = OPS", "nextPageToken": "bad"},
        None,
        "nextPageToken",
        id="jql-token",
    ),
    pytest.param(
        "issue/OPS-1/transitions",
        {"transition": {"id": "99"}},
        None,
        "'99' is not valid",
        id="transition-unknown",
    ),
]


@pytest.mark.parametrize(("path", "body", "field", "text"), JIRA_REFUSED)
def test_jira_refuses_with_an_error_collection(
    jira: JiraReceiver, path: str, body: Any, field: str | None, text: str
) -> None:
    if not jira.issues:
        assert jpost(jira, "issue", task()).status_code == 201  # OPS-1
    response = jpost(jira, path, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert set(answer) == {"errorMessages", "errors"}
    where = answer["errors"][field] if field else " ".join(answer["errorMessages"])
    assert text in where, answer


@pytest.mark.parametrize("name", ["create-issue.valid.json", "create-subtask.valid.json"])
def test_jira_accepts_the_valid_examples(jira: JiraReceiver, name: str) -> None:
    if not jira.issues:
        jpost(jira, "issue", task())
    body = example("jira", name)
    if "parent" in body["fields"]:
        body["fields"]["parent"] = {"key": "OPS-1"}
    response = jpost(jira, "issue", body)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        pytest.param(
            "issue/OPS-999/comment", 404, "Issue does not exist", id="comment-unknown-issue"
        ),
        pytest.param("search", 410, "removed", id="old-search-gone"),
    ],
)
def test_jira_not_found_and_gone(jira: JiraReceiver, path: str, status: int, text: str) -> None:
    response = jpost(
        jira, path, {"body": example("jira", "comment.valid.json")["body"], "jql": "x"}
    )
    assert response.status_code == status
    assert text in response.json()["errorMessages"][0]


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(httpx.Auth(), id="none"),  # the base Auth sends no credentials
        pytest.param((DEMO_EMAIL, "wrong"), id="wrong-token"),
        pytest.param(("ops-bot", DEMO_API_TOKEN), id="not-an-email"),
    ],
)
def test_jira_basic_auth(jira: JiraReceiver, auth: httpx.Auth | tuple[str, str]) -> None:
    response = http.post(f"{jira.url}/rest/api/3/issue", json=task(), auth=auth)
    assert response.status_code == 401
    assert response.json()["errorMessages"]


def test_jira_postmortem_items_linked_found_by_label_once() -> None:
    with JiraReceiver(burst_per_second=None) as r:
        doc = example("jira", "create-issue.valid.json")["fields"]["description"]
        pm = task(
            summary="Postmortem: checkout",
            labels=["sloguard", "sloguard-ep-1"],
            description=doc,
            duedate="2024-03-23",
            assignee={"accountId": "5b10ac8d82e05b22cc7d4ef5"},
        )
        key = jpost(r, "issue", pm).json()["key"]
        item = task(
            summary="Add a canary", labels=["sloguard", "sloguard-ai-1"], duedate="2024-04-01"
        )
        item["update"] = {
            "issuelinks": [{"add": {"type": {"name": "Relates"}, "inwardIssue": {"key": key}}}]
        }
        item_key = jpost(r, "issue", item).json()["key"]
        search = jpost(
            r,
            "search/jql",
            {"jql": 'project = OPS AND labels = "sloguard-ai-1"', "fields": ["labels", "duedate"]},
        )
        assert [(i["key"], i["fields"]["duedate"]) for i in search.json()["issues"]] == [
            (item_key, "2024-04-01")
        ]
        assert search.json()["isLast"] is True
        comment = {
            "body": {
                "type": "doc",
                "version": 1,
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "resolved"}]}
                ],
            }
        }
        assert jpost(r, f"issue/{key}/comment", comment).status_code == 201
        transitions = http.get(
            f"{r.url}/rest/api/3/issue/{key}/transitions", headers=JIRA_AUTH
        ).json()
        done = next(t["id"] for t in transitions["transitions"] if t["name"] == "Done")
        assert jpost(r, f"issue/{key}/transitions", {"transition": {"id": done}}).status_code == 204
        postmortem = r.issue(key)
        assert postmortem.status == "Done"
        assert postmortem.assignee == "5b10ac8d82e05b22cc7d4ef5"
        assert postmortem.duedate == "2024-03-23"
        assert postmortem.labels == [
            "sloguard",
            "sloguard-ep-1",
        ]
        assert [c["body"] for c in postmortem.comments] == [comment["body"]]
        assert postmortem.links == [
            {"type": "Relates", "direction": "outwardIssue", "key": item_key}
        ]
        assert r.issue(item_key).links == [
            {"type": "Relates", "direction": "inwardIssue", "key": key}
        ]
        jpost(r, "issue", item)
        assert len(r.with_label("sloguard-ai-1")) == 2  # no idempotency: search first


def test_jira_search_pages_and_is_eventually_consistent() -> None:
    clock = Clock()
    with JiraReceiver(burst_per_second=None, search_delay_seconds=5, clock=clock) as r:
        ids = [int(jpost(r, "issue", task(labels=["x"])).json()["id"]) for _ in range(3)]
        assert jpost(r, "search/jql", {"jql": "labels = x"}).json()["issues"] == []
        seen = jpost(r, "search/jql", {"jql": "labels = x", "reconcileIssues": ids[:1]}).json()
        assert [int(i["id"]) for i in seen["issues"]] == ids[:1]
        clock.now += 5
        first = jpost(r, "search/jql", {"jql": "labels = x", "maxResults": 2}).json()
        assert len(first["issues"]) == 2
        assert first["isLast"] is False
        rest = jpost(
            r, "search/jql", {"jql": "labels = x", "nextPageToken": first["nextPageToken"]}
        ).json()
        assert [int(i["id"]) for i in first["issues"] + rest["issues"]] == ids
        assert rest["isLast"]


def test_jira_burst_limit_answers_429_with_headers() -> None:
    clock = Clock()
    with JiraReceiver(burst_per_second=2, clock=clock) as r:
        assert [jpost(r, "issue", task()).status_code for _ in range(3)] == [201, 201, 429]
        limited = r.arrivals[-1]
        assert limited.outcome == "throttled"
        response = jpost(r, "issue", task())
        assert response.headers["Retry-After"] == "1"
        assert response.headers["RateLimit-Reason"] == "jira-burst-based"
        assert response.headers["X-RateLimit-Limit"] == "2"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert response.headers["X-RateLimit-Reset"].endswith("Z")
        assert jpost(r, "search/jql", {"jql": "project = OPS"}).status_code == 200  # other endpoint
        clock.now += 1
        assert jpost(r, "issue", task()).status_code == 201
        assert len(r.issues) == 3
