"""Slack incoming webhook: a status message per transition (declared, escalated, resolved,
stale), for the channel where the team watches.

Contract: ``harness/contracts/slack/contract.json``. The webhook URL is the credential
(``url_file``/``url_env``). Block limits: 50 blocks, header text 150, section text 3000, 10
fields of 2000 each; text is cut with an ellipsis to fit. Retry: 429 (after ``Retry-After``),
5xx and network errors; 400/403/404/410 are permanent (``retry_rules``). Slack has no
idempotency: a retry after a lost 200 posts the message twice, which for a status message is
the lesser evil compared with losing it.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import model_validator

from sloguard.notify._text import facts, headline, truncate
from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.records import Kind, Notification

HEADER_MAX = 150
SECTION_MAX = 3000
FIELDS_MAX = 10
FIELD_MAX = 2000
TEXT_MAX = 3000
RATE_LIMIT_PER_MINUTE = 60  # "about 1 message per second per webhook"

EMOJI = {
    Kind.DECLARED: ":rotating_light:",
    Kind.ESCALATED: ":arrow_double_up:",
    Kind.RESOLVED: ":white_check_mark:",
    Kind.STALE: ":grey_question:",
    Kind.BUDGET_THRESHOLD_CROSSED: ":warning:",
    Kind.BUDGET_EXHAUSTED: ":no_entry:",
    Kind.BUDGET_RECOVERED: ":white_check_mark:",
}
VERB = {
    Kind.DECLARED: "declared",
    Kind.ESCALATED: "escalated",
    Kind.RESOLVED: "resolved",
    Kind.STALE: "evaluation stale",
    Kind.BUDGET_THRESHOLD_CROSSED: "error budget below a line",
    Kind.BUDGET_EXHAUSTED: "error budget exhausted",
    Kind.BUDGET_RECOVERED: "error budget recovered",
}
FIELD_KEYS = (
    ("severity", "Severity"),
    ("service", "Service"),
    ("objective", "Objective"),
    ("error_budget_remaining", "Budget left"),
    ("budget_exhausted_in", "Exhausted in"),
    ("owner_team", "Owner"),
)


class SlackConfig(NotifierConfigBase):
    """``type: slack``. The incoming-webhook URL is a secret: ``url_file`` or ``url_env``."""

    type: Literal["slack"]
    url_file: str | None = None
    url_env: str | None = None

    @model_validator(mode="after")
    def _one_url(self) -> SlackConfig:
        if bool(self.url_file) == bool(self.url_env):
            raise ValueError("give exactly one of url_file or url_env (the URL is a secret)")
        return self


def escape(text: str) -> str:
    """Slack mrkdwn control characters (``&``, ``<``, ``>``) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    safe = url.replace(">", "%3E").replace("|", "%7C")
    return f"<{safe}|{label}>"


def title(notification: Notification) -> str:
    n = notification
    sev = n.severity
    if n.kind is Kind.ESCALATED and n.previous_severity:
        sev = f"{n.previous_severity}→{n.severity}"
    if n.kind.budget:
        return truncate(f"{EMOJI[n.kind]} {VERB[n.kind]}: {n.slo}", HEADER_MAX)
    return truncate(f"{EMOJI[n.kind]} {sev} {VERB[n.kind]}: {n.slo}", HEADER_MAX)


def build_payload(notification: Notification, config: SlackConfig) -> dict[str, Any]:
    n = notification
    line = headline(n)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title(n), "emoji": True}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(escape(line), SECTION_MAX)},
        },
    ]
    known = facts(n)
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{escape(known[key])}", FIELD_MAX)}
        for key, label in FIELD_KEYS
        if key in known
    ]
    burns = [f"{w}: {known[f'burn_rate_{w}']}" for w in n.burn_rates]
    if burns:
        fields.append(
            {"type": "mrkdwn", "text": truncate("*Burn rate*\n" + ", ".join(burns), FIELD_MAX)}
        )
    if fields:
        blocks.append({"type": "section", "fields": fields[:FIELDS_MAX]})
    if n.description:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(escape(n.description), SECTION_MAX)},
            }
        )
    link_text = " · ".join(
        _link(url, label)
        for url, label in ((n.runbook_url, "Runbook"), (n.dashboard_url, "Dashboard"))
        if url
    )
    if link_text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link_text}})
    if n.kind is Kind.RESOLVED and n.postmortem_markdown:
        text = "*Postmortem draft*\n" + escape(n.postmortem_markdown)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)}}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": truncate(f"episode {escape(n.episode_id)}", SECTION_MAX)}
            ],
        }
    )
    return {"text": truncate(line, TEXT_MAX), "blocks": blocks[:50]}


class SlackNotifier(HttpNotifier[SlackConfig]):
    integration = "slack"
    rate_limit_per_minute = RATE_LIMIT_PER_MINUTE  # per webhook URL

    def __init__(self, config: SlackConfig, client: httpx.AsyncClient, *, url: str) -> None:
        super().__init__(config, client, secret_url=url, rate_limit_on=url)
        self._url = url

    async def _deliver(self, notification: Notification) -> None:
        await self._request(
            "POST",
            self._url,
            f"{notification.kind.value} {notification.episode_id}",
            json=build_payload(notification, self._config),
        )
