"""Jira Cloud (REST v3): a ticket per routed episode, and the postmortem to write after a page.

Contract: ``harness/contracts/jira/`` (create issue, enhanced JQL search, comments, the ADF
subset, limits). What sloguard relies on:

- **One issue per routed episode**: labels ``sloguard`` and the episode id. Jira has no
  idempotency (every create is a new issue), so the issue key is kept with the episode
  (:class:`sloguard.ports.NotifierState`) and, when it is not (a crash between the create and
  that write), ``POST /rest/api/3/search/jql`` by label finds it before creating again.
- Escalation and resolve add a **comment** (ADF), each once per event id. Stale data does not.
- After a routed **SEV1/SEV2** episode resolves (``postmortem`` set): one issue "Postmortem:
  ..." holding the draft in ADF, due ``due_days`` after the resolve, assigned to the SLO's
  ``owner.jira_account_id``, labelled ``sloguard-postmortem`` and ``postmortem-<episode>``.
- **Budget events**: ``budget.exhausted`` opens one issue "Release freeze for <service>: <slo>
  budget exhausted" per exhaustion (labels ``sloguard-budget`` and the event id, found by
  label after a crash like the episode's issue); a later ``budget.threshold_crossed`` or
  ``budget.recovered`` of that SLO key is a comment on it, once per event id. Before the first
  exhaustion there is no ticket to comment on, so those events are skipped.
- **Retry**: 429 (``Retry-After``) and 5xx; 400, 401, 403, 404 are permanent. Jira publishes
  no request budget; the contract's receiver bursts at 10 a second per endpoint.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from sloguard.action_items import ActionItem, EditedPostmortem
from sloguard.errors import PermanentDeliveryError
from sloguard.notify import _adf
from sloguard.notify._text import headline, truncate
from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.ports import MemoryNotifierState, NotifierState
from sloguard.records import Kind, Notification

SUMMARY_MAX = 254  # "send <= 254 to be safe" (contract: 255 itself is ambiguous)
RATE_LIMIT_PER_MINUTE = 60
RETRY_AFTER_429_SECONDS = 5.0
LABEL = "sloguard"
POSTMORTEM_LABEL = "sloguard-postmortem"
ACTION_LABEL = "sloguard-action"
BUDGET_LABEL = "sloguard-budget"


class PostmortemTickets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    due_days: int = Field(default=5, ge=1, le=90)
    issue_type: str = "Task"


class JiraConfig(NotifierConfigBase):
    """``type: jira``. The API token comes from ``api_token_file`` or ``api_token_env``."""

    type: Literal["jira"]
    url: str = Field(pattern=r"^https?://")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    api_token_file: str | None = None
    api_token_env: str | None = None
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,9}$")
    issue_type: str = "Task"
    postmortem: PostmortemTickets | None = None


def episode_label(episode_id: str) -> str:
    return episode_id.replace(" ", "-")


def postmortem_label(episode_id: str) -> str:
    return "postmortem-" + episode_label(episode_id)


def ticket_body(n: Notification, config: JiraConfig) -> dict[str, Any]:
    """The episode's issue: the headline as summary, the facts and runbook in ADF."""
    lines = [n.summary or headline(n), ""]
    if n.description:
        lines += [n.description, ""]
    lines += [f"- **SLO**: `{n.slo}` ({n.objective_percent:g}% over {n.period})"]
    lines += [f"- **Service**: {n.service}", f"- **Severity**: {n.severity}"]
    if n.runbook_url:
        lines.append(f"- **Runbook**: {n.runbook_url}")
    if n.dashboard_url:
        lines.append(f"- **Dashboard**: {n.dashboard_url}")
    for section, steps in n.runbook.items():
        lines += ["", f"## {section.title()}", *(f"- `{step}`" for step in steps)]
    lines += ["", f"Episode `{n.episode_id}`, opened by sloguard."]
    fields: dict[str, Any] = {
        "project": {"key": config.project},
        "issuetype": {"name": config.issue_type},
        "summary": truncate(headline(n), SUMMARY_MAX),
        "description": _adf.document("\n".join(lines)),
        "labels": [LABEL, episode_label(n.episode_id)],
    }
    return {"fields": fields}


def freeze_body(n: Notification, config: JiraConfig) -> dict[str, Any]:
    """The release-freeze issue of one exhaustion of an SLO key's error budget."""
    lines = [n.summary or headline(n), ""]
    if n.description:
        lines += [n.description, ""]
    lines += [
        f"- **SLO**: `{n.slo}` ({n.objective_percent:g}% over {n.period})",
        f"- **Service**: {n.service}",
    ]
    if n.dashboard_url:
        lines.append(f"- **Dashboard**: {n.dashboard_url}")
    lines += [
        "",
        "The error budget policy asks for a freeze of risky releases until the budget "
        "recovers; sloguard comments here as it crosses the policy's lines.",
    ]
    summary = f"Release freeze for {n.service}: {n.slo} budget exhausted"
    fields: dict[str, Any] = {
        "project": {"key": config.project},
        "issuetype": {"name": config.issue_type},
        "summary": truncate(summary, SUMMARY_MAX),
        "description": _adf.document("\n".join(lines)),
        "labels": [BUDGET_LABEL, episode_label(n.event_id)],
    }
    return {"fields": fields}


def comment_body(n: Notification) -> dict[str, Any]:
    text = {
        Kind.ESCALATED: f"Escalated to {n.severity}: {n.summary or headline(n)}",
        Kind.DEESCALATED: f"De-escalated to {n.severity}: {n.summary or headline(n)}",
        Kind.RESOLVED: f"Resolved: {n.summary or headline(n)}",
        Kind.BUDGET_RECOVERED: (
            f"Release freeze can end: {n.summary}"
            if n.threshold_percent is not None and n.threshold_percent <= 0
            else n.summary
        ),
    }.get(n.kind, n.summary or headline(n))
    return {"body": _adf.document(text)}


def due_date(resolved_at: float, days: int) -> str:
    return (datetime.fromtimestamp(resolved_at, UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


def postmortem_body(n: Notification, config: JiraConfig) -> dict[str, Any]:
    """The postmortem issue: the draft as its description, due and assigned."""
    assert config.postmortem is not None
    day = datetime.fromtimestamp(n.at, UTC).strftime("%Y-%m-%d")
    draft = n.postmortem_markdown or f"# Postmortem: {n.slo}\n\n{n.summary}"
    fields: dict[str, Any] = {
        "project": {"key": config.project},
        "issuetype": {"name": config.postmortem.issue_type},
        "summary": truncate(f"Postmortem: {n.slo} {n.severity} on {day}", SUMMARY_MAX),
        "description": _adf.document(draft),
        "labels": [POSTMORTEM_LABEL, postmortem_label(n.episode_id)],
        "duedate": due_date(n.at, config.postmortem.due_days),
    }
    if n.owner.get("jira_account_id"):
        fields["assignee"] = {"accountId": n.owner["jira_account_id"]}
    return {"fields": fields}


class JiraNotifier(HttpNotifier[JiraConfig]):
    """Tickets per episode and budget exhaustion; :func:`push_action_items` uses its calls."""

    integration = "jira"
    follows_severity_down = True
    rate_limit_per_minute = RATE_LIMIT_PER_MINUTE  # per site and account
    retry_after_429_seconds = RETRY_AFTER_429_SECONDS

    def __init__(
        self,
        config: JiraConfig,
        client: httpx.AsyncClient,
        *,
        api_token: str,
        state: NotifierState,
    ) -> None:
        basic = base64.b64encode(f"{config.email}:{api_token}".encode()).decode()
        super().__init__(
            config,
            client,
            secrets=[api_token, basic],
            rate_limit_on=f"{config.url}{config.email}",
            shown={"url": config.url},
            state=state,
        )
        self._auth = f"Basic {basic}"

    async def _deliver(self, notification: Notification) -> None:
        n = notification
        if n.kind is Kind.STALE:
            return
        if n.kind.budget:
            await self._send_budget(n)
            return
        state = self._load(n)
        if "issue" not in state:
            state["issue"] = await self._ensure(
                episode_label(n.episode_id), ticket_body(n, self._config)
            )
            state.setdefault("posted", []).append(f"{n.event_id}:opened")
            self._save(n, state)
        if n.kind is not Kind.DECLARED and n.event_id not in state.get("posted", []):
            path = f"issue/{state['issue']}/comment"
            await self._api("POST", path, comment_body(n), f"comment {n.kind.value}")
            state["posted"] = [*state.get("posted", []), n.event_id]
            self._save(n, state)
        if self._wants_postmortem(n) and "postmortem" not in state:
            label = postmortem_label(n.episode_id)
            state["postmortem"] = await self._ensure(label, postmortem_body(n, self._config))
            self._save(n, state)

    async def _send_budget(self, n: Notification) -> None:
        """A freeze issue per exhaustion, the SLO key's other budget events as comments."""
        state = self._load(n)
        if n.kind is Kind.BUDGET_EXHAUSTED and state.get("freeze") != n.event_id:
            key = await self._ensure(episode_label(n.event_id), freeze_body(n, self._config))
            state = {"issue": key, "freeze": n.event_id, "posted": [n.event_id]}
            self._save(n, state)
            return
        if "issue" in state and n.event_id not in state.get("posted", []):
            path = f"issue/{state['issue']}/comment"
            await self._api("POST", path, comment_body(n), f"comment {n.kind.value}")
            state["posted"] = [*state.get("posted", []), n.event_id]
            self._save(n, state)

    def _wants_postmortem(self, n: Notification) -> bool:
        return (
            n.kind is Kind.RESOLVED
            and self._config.postmortem is not None
            and n.severity in ("SEV1", "SEV2")
        )

    # --- the calls ----------------------------------------------------------------------------
    async def _api(self, method: str, path: str, body: Any, what: str) -> Any:
        """One call of the REST API v3: its JSON answer ({} when the answer is empty)."""
        response = await self._request(
            method,
            f"{self._config.url.rstrip('/')}/rest/api/3/{path}",
            what,
            json=body,
            headers={"Authorization": self._auth, "Accept": "application/json"},
        )
        return self._json(response, what) if response.content else {}

    async def _find(self, label: str) -> str | None:
        """The key of the issue labelled ``label`` in the project, if any."""
        jql = f'project = {self._config.project} AND labels = "{label}"'
        body = {"jql": jql, "fields": ["summary"], "maxResults": 1}
        found = await self._api("POST", "search/jql", body, f"search {label}")
        issues = found.get("issues", []) if isinstance(found, dict) else []
        return str(issues[0]["key"]) if issues else None

    async def _ensure(self, label: str, body: dict[str, Any]) -> str:
        """The key of the issue labelled ``label``, creating it from ``body`` if none exists
        (Jira has no idempotency: search before create)."""
        key = await self._find(label)
        if key is None:
            created = await self._api("POST", "issue", body, f"create {label}")
            key = str(created["key"])
        return key


def action_label(episode_id: str, item: ActionItem) -> str:
    """The same item of the same postmortem gets the same label, so a second push finds it."""
    digest = hashlib.sha256(f"{episode_id}\x00{' '.join(item.text.lower().split())}".encode())
    return f"action-{digest.hexdigest()[:16]}"


def action_body(
    item: ActionItem, postmortem_key: str, episode_id: str, config: JiraConfig
) -> dict[str, Any]:
    text = f"Action item of the postmortem {postmortem_key} (episode `{episode_id}`)."
    return {
        "fields": {
            "project": {"key": config.project},
            "issuetype": {"name": config.issue_type},
            "summary": truncate(item.text, SUMMARY_MAX),
            "description": _adf.document(f"{item.text}\n\n{text}"),
            "labels": [ACTION_LABEL, action_label(episode_id, item)],
            "duedate": item.due,
            "assignee": {"accountId": item.owner},
        },
        "update": {
            "issuelinks": [
                {"add": {"type": {"name": "Relates"}, "outwardIssue": {"key": postmortem_key}}}
            ]
        },
    }


async def push_action_items(
    config: JiraConfig, client: httpx.AsyncClient, api_token: str, edited: EditedPostmortem
) -> list[tuple[ActionItem, str, bool]]:
    """One issue per action item, linked to the episode's postmortem issue; an item pushed
    before is found by its label and not created again. (item, key, created) in order."""
    jira = JiraNotifier(config, client, api_token=api_token, state=MemoryNotifierState())
    postmortem = await jira._find(postmortem_label(edited.episode_id))
    if postmortem is None:
        raise PermanentDeliveryError(
            f"jira {config.name!r}: no postmortem issue for episode {edited.episode_id} in "
            f"{config.project} (it is created when a paged episode resolves)"
        )
    out = []
    for item in edited.items:
        label = action_label(edited.episode_id, item)
        key = await jira._find(label)
        created = key is None
        if key is None:
            body = action_body(item, postmortem, edited.episode_id, config)
            key = str((await jira._api("POST", "issue", body, f"create {label}"))["key"])
        out.append((item, key, created))
    return out
