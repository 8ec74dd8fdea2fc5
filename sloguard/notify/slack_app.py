"""Slack app (Web API): one channel per incident, with its team, its runbook and its story.

Contract: ``harness/contracts/slack-web/`` (request and response schemas, envelope, scopes,
rate-limit tiers) and, for ``usergroups.users.list``, Slack's method page. What sloguard
relies on:

- **Envelope**: success and failure are both HTTP 200; ``ok`` decides (``envelope.client_rule``).
  HTTP 429 carries ``Retry-After`` seconds (``rate_limits.on_limit``), honoured by the outbox.
- **One channel per episode**: its name is derived from the episode
  (:func:`sloguard.records.incident_channel_name`), so ``name_taken`` on create means this same
  incident created it before a crash: the channel is looked up by name and reused.
- **Steps**: create, topic, bookmarks (runbook, dashboard), invites (roles and ``invite``,
  user groups expanded with ``usergroups.users.list``), the first message, the announcement.
  Each step is recorded in the per-episode notifier state (:class:`sloguard.ports.NotifierState`)
  as soon as Slack accepted it, so a retry continues where it stopped. Then the transition's
  own message (escalation, stale, resolve), once per event id. The outbox delivers one
  episode's rows in order, so the channel tells the story in order.
- **Errors**: ``invalid_auth``, ``not_authed``, ``missing_scope``, ``channel_not_found``,
  ``is_archived``, ``invalid_*`` and every other documented refusal are permanent (dead
  letter, with the method and Slack's code); ``ratelimited``, ``internal_error``,
  ``fatal_error``, ``service_unavailable``, ``request_timeout`` and 5xx are retried.
- **Rate limits**: Tier 2 (20 a minute) is the lowest tier used; a declaration makes up to
  two Tier-2 calls of one method (bookmarks), so at most 10 deliveries a minute per token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Literal

import httpx
from pydantic import Field

from sloguard.errors import PermanentDeliveryError, TransientDeliveryError
from sloguard.notify._incident_text import (
    announcement,
    first_message,
    topic,
    transition_message,
)
from sloguard.notify.base import HttpNotifier, NotifierConfigBase
from sloguard.ports import NotifierState
from sloguard.records import Kind, Notification, incident_channel_name

RATE_LIMIT_PER_MINUTE = 10
RETRY_AFTER_429_SECONDS = 60.0  # a tier's window is a minute
TRANSIENT_CODES = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Invite answers that leave nothing to do for that user (the others are invited, force=true).
INVITE_SETTLED = frozenset(
    {"already_in_channel", "cant_invite_self", "user_not_found", "user_is_restricted"}
)
INVITE_BATCH = 100  # conversations.invite takes 1..100 IDs
LIST_PAGE = "200"


class SlackAppConfig(NotifierConfigBase):
    """``type: slack_app``. The bot token (``xoxb-...``) comes from ``token_file`` or
    ``token_env``. Scopes: channels:manage, channels:read, chat:write, bookmarks:write,
    usergroups:read (and chat:write.public to announce in a channel the bot is not in)."""

    type: Literal["slack_app"]
    token_file: str | None = None
    token_env: str | None = None
    url: str = Field(default="https://slack.com/api", pattern=r"^https?://")
    announce_channel: str = Field(default="", pattern=r"^([CG][A-Z0-9]{2,})?$")
    private: bool = False  # create the incident channels as private channels


class SlackCallError(Exception):
    """An ``ok: false`` answer, before it is sorted into retry-later or give-up."""

    def __init__(self, method: str, code: str, body: Mapping[str, Any]) -> None:
        super().__init__(f"{method}: {code}")
        self.method, self.code, self.body = method, code, body


def delivery_error(notifier: str, exc: SlackCallError) -> Exception:
    """The DeliveryError for a Slack refusal: transient codes retry, the rest dead-letter."""
    message = f"slack_app {notifier!r} {exc.method}: {exc.code}"
    if exc.code == "missing_scope":
        message += f" (the app needs scope {exc.body.get('needed', '?')}; reinstall it)"
    elif exc.code in ("invalid_auth", "not_authed", "token_revoked", "account_inactive"):
        message += " (the bot token is not valid: check token_file)"
    elif exc.code in ("channel_not_found", "is_archived", "not_in_channel"):
        message += " (the incident channel is gone or archived: nothing more is posted there)"
    if exc.code in TRANSIENT_CODES:
        return TransientDeliveryError(message, status=200)
    return PermanentDeliveryError(message, status=200)


def invitees(n: Notification, state: Mapping[str, Any]) -> list[str]:
    """The role holders and ``invite``, user groups replaced by their members (as remembered
    in ``state`` under ``group:<id>``), each once, in order."""
    users: list[str] = []
    for ref in [*n.roles.values(), *n.invite]:
        members = list(state.get(f"group:{ref}", [])) if ref.startswith("S") else [ref]
        users += [u for u in members if u not in users]
    return users


class SlackAppNotifier(HttpNotifier[SlackAppConfig]):
    integration = "slack_app"
    follows_severity_down = True
    rate_limit_per_minute = RATE_LIMIT_PER_MINUTE  # per bot token
    retry_after_429_seconds = RETRY_AFTER_429_SECONDS

    def __init__(
        self,
        config: SlackAppConfig,
        client: httpx.AsyncClient,
        *,
        token: str,
        state: NotifierState,
    ) -> None:
        super().__init__(
            config,
            client,
            secrets=[token],
            rate_limit_on=token,
            shown={"url": config.url},
            state=state,
        )
        self._token = token

    # --- one notification ---------------------------------------------------------------------
    async def _deliver(self, notification: Notification) -> None:
        n = notification
        state = self._load(n)
        try:
            if "channel" not in state:
                state["channel"] = await self._open_channel(n)
                self._save(n, state)
            channel = str(state["channel"])
            for group in (ref for ref in n.invite if ref.startswith("S")):
                if f"group:{group}" not in state:  # one read call, remembered
                    state[f"group:{group}"] = await self._group_members(group)
                    self._save(n, state)
            for step, call in self._setup_steps(n, channel, state):
                if step not in state.get("done", []):
                    await call()  # exactly one Slack call: a retry redoes at most this one
                    state["done"] = [*state.get("done", []), step]
                    self._save(n, state)
            if n.kind is not Kind.DECLARED and n.event_id not in state.get("posted", []):
                await self._post(channel, transition_message(n))
                state["posted"] = [*state.get("posted", []), n.event_id]
                self._save(n, state)
            if n.kind in (Kind.ESCALATED, Kind.DEESCALATED, Kind.RESOLVED):  # idempotent
                await self._call("conversations.setTopic", channel=channel, topic=topic(n))
        except SlackCallError as exc:
            raise delivery_error(self.name, exc) from None

    def _setup_steps(
        self, n: Notification, channel: str, state: Mapping[str, Any]
    ) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
        """The channel's setup as (step, one Slack call), in order."""
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            (
                "topic",
                partial(self._call, "conversations.setTopic", channel=channel, topic=topic(n)),
            )
        ]
        for title, link in (("Runbook", n.runbook_url), ("Dashboard", n.dashboard_url)):
            if link:
                add = partial(
                    self._call,
                    "bookmarks.add",
                    channel_id=channel,
                    title=title,
                    type="link",
                    link=link,
                )
                steps.append((f"bookmark:{title.lower()}", add))
        users = invitees(n, state)
        for start in range(0, len(users), INVITE_BATCH):
            batch = ",".join(users[start : start + INVITE_BATCH])
            steps.append((f"invite:{start}", partial(self._invite, channel, batch)))
        steps.append(("first_message", partial(self._post, channel, first_message(n))))
        if self._config.announce_channel:
            text = announcement(n, channel)
            steps.append(("announce", partial(self._post, self._config.announce_channel, text)))
        return steps

    # --- the calls ----------------------------------------------------------------------------
    async def _open_channel(self, n: Notification) -> str:
        """Create the episode's channel, or find it when this incident already created it."""
        name = (n.incident_channel or "").removeprefix("#") or incident_channel_name(
            n.slo, n.episode_id, n.at
        )
        try:
            body = await self._call(
                "conversations.create", name=name, is_private=self._config.private
            )
            return str(body["channel"]["id"])
        except SlackCallError as exc:
            if exc.code != "name_taken":
                raise
        found = await self._find_channel(name)
        if found is None:
            raise PermanentDeliveryError(
                f"slack_app {self.name!r} conversations.create: name_taken, and no channel "
                f"#{name} is visible to the bot (a private channel it is not in?)",
                status=200,
            )
        return found

    async def _find_channel(self, name: str) -> str | None:
        types = "private_channel" if self._config.private else "public_channel"
        cursor = ""
        while True:
            params = {"types": types, "limit": LIST_PAGE, "exclude_archived": "true"}
            if cursor:
                params["cursor"] = cursor
            body = await self._call_get("conversations.list", params)
            for channel in body.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
            cursor = str(body.get("response_metadata", {}).get("next_cursor", ""))
            if not cursor:
                return None

    async def _invite(self, channel: str, users: str) -> None:
        """Invite ``users``; those already in, unknown or not invitable do not stop the rest
        (``force``), and do not fail the delivery: the channel matters more than one ID."""
        try:
            await self._call("conversations.invite", channel=channel, users=users, force=True)
        except SlackCallError as exc:
            codes = {e.get("error") for e in exc.body.get("errors", [])} or {exc.code}
            if not codes <= INVITE_SETTLED:
                raise

    async def _group_members(self, group: str) -> list[str]:
        body = await self._call_get("usergroups.users.list", {"usergroup": group})
        return [str(u) for u in body.get("users", [])]

    async def _post(self, channel: str, text: str) -> None:
        await self._call("chat.postMessage", channel=channel, text=text, unfurl_links=False)

    # --- the wire -----------------------------------------------------------------------------
    async def _call(self, method: str, **args: Any) -> dict[str, Any]:
        """A write method: JSON body, bearer token."""
        response = await self._request(
            "POST",
            f"{self._config.url.rstrip('/')}/{method}",
            method,
            json=args,
            headers=self._headers("application/json; charset=utf-8"),
        )
        return self._envelope(method, response)

    async def _call_get(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        """A read method: query string (these methods take no JSON body)."""
        response = await self._request(
            "GET",
            f"{self._config.url.rstrip('/')}/{method}",
            method,
            params=params,
            headers=self._headers(None),
        )
        return self._envelope(method, response)

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def _envelope(self, method: str, response: httpx.Response) -> dict[str, Any]:
        body = self._json(response, method)
        if not isinstance(body, dict):
            raise TransientDeliveryError(f"slack_app {self.name!r} {method}: odd answer")
        if body.get("ok") is not True:
            raise SlackCallError(method, str(body.get("error", "unknown_error")), body)
        return body
