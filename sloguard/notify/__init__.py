"""Notifiers: one module per integration, each with its config model, a pure ``build_payload()``
and ``send()``. The record they deliver is :class:`sloguard.records.Notification`.

    config = TypeAdapter(NotifierConfig).validate_python({"type": "pagerduty", ...})
    notifier = build_notifier(config, client)      # reads the secrets now, once
    await notifier.send(notification)              # raises Transient/PermanentDeliveryError
"""

from __future__ import annotations

import re
from typing import Annotated

import httpx
from pydantic import Field

from sloguard.errors import ConfigError, Location, Problem
from sloguard.notify.base import NotifierConfigBase
from sloguard.notify.jira import JiraConfig, JiraNotifier
from sloguard.notify.opsgenie import OpsgenieConfig, OpsgenieNotifier
from sloguard.notify.pagerduty import PagerDutyConfig, PagerDutyNotifier
from sloguard.notify.slack import SlackConfig, SlackNotifier
from sloguard.notify.slack_app import SlackAppConfig, SlackAppNotifier
from sloguard.notify.statuspage import StatuspageConfig, StatuspageNotifier
from sloguard.notify.webhook import WebhookConfig, WebhookNotifier
from sloguard.ports import MemoryNotifierState, Notifier, NotifierState
from sloguard.secrets import read_secret

# Integrations that follow an incident's severity down as well as up (routing.dispatch): a
# channel message, a status-page update, a ticket comment. The pagers (PagerDuty, Opsgenie,
# webhooks, the Slack incoming webhook) hear escalations only: their contracts have no way to
# lower an open alert without a fresh event that reads as a new page. Each class says which it
# is (``HttpNotifier.follows_severity_down``), so routing and delivery agree by construction.
SEVERITY_FOLLOWERS = frozenset(
    notifier.integration
    for notifier in (
        JiraNotifier,
        OpsgenieNotifier,
        PagerDutyNotifier,
        SlackAppNotifier,
        SlackNotifier,
        StatuspageNotifier,
        WebhookNotifier,
    )
    if notifier.follows_severity_down
)

__all__ = [
    "SEVERITY_FOLLOWERS",
    "JiraConfig",
    "NotifierConfig",
    "NotifierConfigBase",
    "OpsgenieConfig",
    "PagerDutyConfig",
    "SlackAppConfig",
    "SlackConfig",
    "StatuspageConfig",
    "WebhookConfig",
    "build_notifier",
]

NotifierConfig = Annotated[
    PagerDutyConfig
    | OpsgenieConfig
    | WebhookConfig
    | SlackConfig
    | SlackAppConfig
    | StatuspageConfig
    | JiraConfig,
    Field(discriminator="type"),
]

_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
_URL = re.compile(r"^https?://\S+$")
_BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")


def build_notifier(
    config: NotifierConfig,
    client: httpx.AsyncClient,
    *,
    where: Location | None = None,
    state: NotifierState | None = None,
) -> Notifier:
    """A ready notifier for ``config`` sharing ``client``. Secrets are read here, once; a
    missing or malformed secret raises ConfigError naming the field, never the value.
    ``state`` keeps what multi-call notifiers did per episode (the store; default: memory)."""
    loc = where or Location("<config>")
    label = f"notifier {config.name!r}"
    memory = state if state is not None else MemoryNotifierState()
    if isinstance(config, JiraConfig):
        jira_token = _secret(
            config.api_token_file, config.api_token_env, f"{label}: api_token", loc
        )
        return JiraNotifier(config, client, api_token=jira_token, state=memory)
    if isinstance(config, StatuspageConfig):
        sp_key = _secret(config.api_key_file, config.api_key_env, f"{label}: api_key", loc)
        return StatuspageNotifier(config, client, api_key=sp_key, state=memory)
    if isinstance(config, SlackAppConfig):
        bot_token = _secret(config.token_file, config.token_env, f"{label}: token", loc)
        if not _BOT_TOKEN.match(bot_token):
            raise ConfigError(
                Problem(
                    loc,
                    f"{label}: token must be a Slack bot token: the one read is not xoxb- followed "
                    "by letters, digits and dashes (a user token xoxp- will not do)",
                    field="token",
                )
            )
        return SlackAppNotifier(config, client, token=bot_token, state=memory)
    if isinstance(config, PagerDutyConfig):
        key = _secret(config.routing_key_file, config.routing_key_env, f"{label}: routing_key", loc)
        if not _ROUTING_KEY.match(key):
            raise ConfigError(
                Problem(
                    loc,
                    f"{label}: routing_key must be the 32 letters and digits of an Events API "
                    f"v2 integration key (the one read has {len(key)} characters)",
                    field="routing_key",
                )
            )
        return PagerDutyNotifier(config, client, routing_key=key)
    if isinstance(config, OpsgenieConfig):
        api_key = _secret(config.api_key_file, config.api_key_env, f"{label}: api_key", loc)
        return OpsgenieNotifier(config, client, api_key=api_key)
    if isinstance(config, WebhookConfig):
        url = config.url or _read_url(config.url_file, config.url_env, f"{label}: url", loc)
        secret = None
        if config.secret_file or config.secret_env:
            secret = _secret(config.secret_file, config.secret_env, f"{label}: secret", loc)
        token = None
        if config.auth_token_file or config.auth_token_env:
            what = f"{label}: auth_token"
            token = _secret(config.auth_token_file, config.auth_token_env, what, loc)
        try:
            return WebhookNotifier(config, client, url=url, secret=secret, auth_token=token)
        except ConfigError as exc:
            problems = [Problem(loc, f"{label}: {p.message}", field="secret") for p in exc.problems]
            raise ConfigError(problems) from None
    url = _read_url(config.url_file, config.url_env, f"{label}: url", loc)
    return SlackNotifier(config, client, url=url)


def _secret(file: str | None, env: str | None, what: str, loc: Location) -> str:
    """The secret from ``file`` or the environment variable ``env``, read now, once; a
    ConfigError naming ``what`` (never the value) when it is missing or empty."""
    return read_secret(file=file, env=env, what=what, where=loc).get_secret_value()


def _read_url(file: str | None, env: str | None, what: str, loc: Location) -> str:
    url = _secret(file, env, what, loc)
    if not _URL.match(url):
        raise ConfigError(
            Problem(loc, f"{what}: the secret read is not an http(s) URL", field="url")
        )
    return url
