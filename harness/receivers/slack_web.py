"""A Slack Web API that enforces ``contracts/slack-web/`` for the methods of an incident
channel, plus ``usergroups.users.list`` (not in the folder; per Slack's method page).

- ``/api/<method>``; every answer is the Slack envelope: HTTP 200 with ``ok: true`` or
  ``ok: false`` + ``error`` (HTTP 429 only for rate limits).
- Auth: ``Authorization: Bearer xoxb-...`` (or a ``token`` form field); none ->
  ``not_authed``, unknown -> ``invalid_auth``. JSON bodies need the header (2017-10 changelog).
  Each method needs its bot scope (``contract.json`` ``bot_scopes``): ``missing_scope`` with
  ``needed``/``provided``.
- Bodies: write methods take JSON (``missing_charset`` warning without ``charset=utf-8``) or a
  form (``superfluous_charset`` warning with one); ``conversations.info``/``.list`` and
  ``usergroups.users.list`` take the query string or a form, not JSON. Other types ->
  ``invalid_post_type``; malformed JSON -> ``invalid_json``; not an object -> ``json_not_object``.
- Arguments are validated against the method's request schema and refused with the method's
  own code (``invalid_name_specials``, ``too_long``, ``invalid_blocks``, ``no_text``, ...), or
  ``invalid_arguments`` with ``[ERROR]`` messages (unknown arguments: sloguard strictness).
- Rate limits per method (tier per minute, rolling 60 s) and, for ``chat.postMessage``, per
  channel (60 a minute: "about one per second, short bursts tolerated") -> 429 ``ratelimited``
  with ``Retry-After`` seconds until the window frees a slot.
- Every answer is checked against the method's response schema, so the fake cannot drift.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from harness.receivers._contracts import contract_validator, load
from harness.receivers._server import Arrival, Clock, Receiver, Reply
from harness.receivers._slack_workspace import (
    SlackChannel,
    SlackError,
    SlackMessage,
    SlackWorkspace,
)

_CONTRACT = load("slack-web/contract.json")
DEMO_TOKEN = "xoxb-sloguard-demo-token"  # public demo value, not a secret  # noqa: S105  # nosec B105
BOT_USER = "U0SLOGUARD"
TIER_PER_MINUTE = {"t1": 1, "t2": 20, "t3": 50, "t4": 100}
POSTS_PER_CHANNEL_PER_MINUTE = 60
USERGROUPS_METHOD = "usergroups.users.list"  # Tier 2, scope usergroups:read (method page)
READ_METHODS = frozenset({"conversations.info", "conversations.list", USERGROUPS_METHOD})
_USERGROUP_ARGS = {
    "required": ["usergroup"],
    "properties": {
        "usergroup": {"type": "string", "pattern": "^S[A-Z0-9]{2,}$"},
        "include_disabled": {"enum": ["true", "false"]},
        "team_id": {"type": "string", "pattern": "^T[A-Z0-9]{2,}$"},
    },
    "additionalProperties": False,
    "type": "object",
}
_USERGROUP_VALIDATOR = Draft202012Validator(_USERGROUP_ARGS)


def _scopes_needed(method: str) -> list[str]:
    """Any one of these lets the bot call ``method`` (the public-channel scopes)."""
    if method == USERGROUPS_METHOD:
        return ["usergroups:read"]
    scopes: dict[str, list[str]] = _CONTRACT["methods"][method]["bot_scopes"]
    return next(iter(scopes.values()))


ALL_SCOPES = frozenset(
    {
        s
        for m in _CONTRACT["methods"]
        for v in _CONTRACT["methods"][m]["bot_scopes"].values()
        for s in v
    }
    | {"usergroups:read"}
)


class SlackWebReceiver(Receiver):
    """``with SlackWebReceiver(usergroups={"S0PAY": ["U1", "U2"]}) as slack: ...``; point the
    client at ``slack.api_url``; ``slack.channels`` is what the workspace shows."""

    service = "slack-web"

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEMO_TOKEN,),
        scopes: Iterable[str] = ALL_SCOPES,
        users: Iterable[str] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
        rate_limits: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        self.tokens = set(tokens)
        self.scopes = set(scopes)
        self.rate_limits = rate_limits
        self.workspace = SlackWorkspace(
            bot_user=BOT_USER, users=users, usergroups=usergroups or {}, clock=self.clock
        )
        self.workspace.public_post = "chat:write.public" in self.scopes
        self._handlers = self.workspace.handlers()
        self._calls: dict[str, deque[float]] = {}

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def channels(self) -> list[SlackChannel]:
        return self.workspace.channels

    def channel(self, ref: str) -> SlackChannel:
        """A channel by ID or name; KeyError when there is none."""
        try:
            return self.workspace.find(ref)
        except SlackError:
            raise KeyError(ref) from None

    def archive(self, ref: str) -> None:
        """Archive a channel as a person would in Slack (its name stays taken)."""
        self.channel(ref).is_archived = True

    # --- answers ---------------------------------------------------------------------------
    def _answer(self, method: str, body: dict[str, Any]) -> Reply:
        """HTTP 200 with ``body``, after checking it against the method's response schema."""
        if method in self._handlers and method != USERGROUPS_METHOD:
            schema = contract_validator("slack-web", f"{method}.responses.schema.json")
            problems = [e.message for e in schema.iter_errors(body)]
            assert not problems, (method, body, problems)
        return Reply.json(200, body)

    def _fail(self, arrival: Arrival, method: str, error: SlackError) -> Reply:
        arrival.outcome = "rejected"
        arrival.errors = [error.code, *error.extra.get("_details", [])]
        body = {"ok": False, "error": error.code} | {
            k: v for k, v in error.extra.items() if not k.startswith("_")
        }
        return self._answer(method, body)

    def handle(self, arrival: Arrival) -> Reply:
        method = arrival.path.removeprefix("/api/")
        if not arrival.path.startswith("/api/") or method not in self._handlers:
            arrival.outcome = "rejected"
            arrival.errors = ["unknown_method"]
            return Reply.json(200, {"ok": False, "error": "unknown_method"})
        try:
            args, warnings, is_json = self._arguments(arrival, method)
            self._authorize(arrival, method, args, is_json=is_json)
            throttled = self._throttle(arrival.at, method, args)
            if throttled is not None:
                arrival.outcome = "throttled"
                body = {"ok": False, "error": "ratelimited"}
                return Reply.json(429, body, {"Retry-After": str(throttled)})
            self._validate(method, args)
            result = self._handlers[method](args)
        except SlackError as error:
            return self._fail(arrival, method, error)
        arrival.outcome = "accepted"
        if warnings:
            result = _with_warnings(result, warnings)
        return self._answer(method, {"ok": True} | result)

    # --- request ---------------------------------------------------------------------------
    def _arguments(self, arrival: Arrival, method: str) -> tuple[dict[str, Any], list[str], bool]:
        """Arguments from the query string (read methods), a form or a JSON body; the
        warnings the encoding earns; whether the body was JSON."""
        content_type = arrival.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        charset = "charset=" in content_type.lower()
        if arrival.method == "GET" and method in READ_METHODS and not arrival.body:
            return dict(arrival.query), [], False
        if arrival.method != "POST":
            raise SlackError("invalid_post_type")
        if not content_type:
            raise SlackError("missing_post_type")
        if media == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(arrival.body.decode("utf-8", "replace"), keep_blank_values=True))
            args = {**arrival.query, **form} if method in READ_METHODS else form
            warnings = ["superfluous_charset"] if charset else []
            return _typed_form(method, args), warnings, False
        if media != "application/json" or method in READ_METHODS:
            raise SlackError("invalid_post_type")
        try:
            args = json.loads(arrival.body)
        except (ValueError, UnicodeDecodeError):
            raise _body_error(method, "invalid_json") from None
        if not isinstance(args, dict):
            raise _body_error(method, "json_not_object")
        return args, ([] if charset else ["missing_charset"]), True

    def _authorize(
        self, arrival: Arrival, method: str, args: dict[str, Any], *, is_json: bool
    ) -> None:
        """The bearer token (or, in a form only, the ``token`` field) and the method's scope."""
        header = arrival.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        if token is None and not is_json:
            token = args.pop("token", None)
        if not token:
            raise SlackError("not_authed")
        if token not in self.tokens or not re.fullmatch(
            _CONTRACT["auth"]["bot_token_regex"], f"Bearer {token}"
        ):
            raise SlackError("invalid_auth")
        needed = _scopes_needed(method)
        if not self.scopes & set(needed):
            raise SlackError(
                "missing_scope", needed=",".join(needed), provided=",".join(sorted(self.scopes))
            )

    def _throttle(self, now: float, method: str, args: dict[str, Any]) -> int | None:
        """Seconds to wait when this call is over its limit, else None (and count it)."""
        if not self.rate_limits:
            return None
        if method == "chat.postMessage":
            key, limit = f"{method}:{args.get('channel')}", POSTS_PER_CHANNEL_PER_MINUTE
        else:
            tier = _CONTRACT["methods"].get(method, {}).get("rate_limit_tier", "t2")
            key, limit = method, TIER_PER_MINUTE[tier]
        window = self._calls.setdefault(key, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil(window[0] + 60 - now))
        window.append(now)
        return None

    def _validate(self, method: str, args: dict[str, Any]) -> None:
        schema = (
            _USERGROUP_VALIDATOR
            if method == USERGROUPS_METHOD
            else contract_validator("slack-web", f"{method}.request.schema.json")
        )
        errors = sorted(schema.iter_errors(args), key=lambda e: list(e.absolute_path))
        if errors:
            raise _refusal(method, errors)


def _body_error(method: str, code: str) -> SlackError:
    """``code``, or ``invalid_arguments`` for methods whose documented errors lack it
    (``chat.postMessage`` and ``bookmarks.add`` list no ``invalid_json``)."""
    schema = contract_validator("slack-web", f"{method}.responses.schema.json").schema
    errors: list[str] = schema["$defs"]["Error"]["properties"]["error"]["enum"]
    if code in errors:
        return SlackError(code)
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {code}"]})


def _typed_form(method: str, form: dict[str, str]) -> dict[str, Any]:
    """Form values are strings: booleans of the schema as booleans, JSON-valued arguments
    (``blocks``, ``attachments``, ``metadata``) parsed, as Slack reads a form."""
    if method in READ_METHODS:
        return form
    properties = contract_validator("slack-web", f"{method}.request.schema.json").schema
    typed: dict[str, Any] = dict(form)
    for name, value in form.items():
        spec = properties.get("properties", {}).get(name, {})
        if spec.get("type") == "boolean" and value in ("true", "false", "1", "0"):
            typed[name] = value in ("true", "1")
        elif name in ("blocks", "attachments", "metadata", "file_ids"):
            try:
                typed[name] = json.loads(value)
            except ValueError:
                raise SlackError(
                    "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                ) from None
    return typed


def _with_warnings(result: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    known = [w for w in [result.get("warning")] if w] + warnings
    meta = dict(result.get("response_metadata", {}))
    meta["warnings"] = [*meta.get("warnings", []), *warnings]
    return result | {"warning": ",".join(known), "response_metadata": meta}


def _refusal(method: str, errors: list[Any]) -> SlackError:
    """The code Slack gives for the first broken rule, with every rule in the details."""
    details = [_describe(e) for e in errors]
    first = errors[0]
    field = str(first.absolute_path[0]) if first.absolute_path else ""
    missing = _missing_field(first)
    code = _code(method, field or (missing or ""), first.validator, first.instance)
    extra: dict[str, Any] = {"_details": details}
    if code == "invalid_blocks":
        extra["errors"] = details
        extra["response_metadata"] = {"messages": [f"[ERROR] {d}" for d in details]}
    elif code == "invalid_arguments":
        extra["response_metadata"] = {"messages": [f"[ERROR] {d}" for d in details]}
    return SlackError(code, **extra)


def _missing_field(error: Any) -> str | None:
    if error.validator != "required":
        return None
    found = re.match(r"'([^']+)' is a required property", error.message)
    return found.group(1) if found else None


def _describe(error: Any) -> str:
    """One broken rule in Slack's words where known (``must be less than 151 characters
    [json-pointer:/blocks/0/text/text]``), else the validator's, cut short."""
    error = best_match([error])
    missing = _missing_field(error)
    if missing is not None:
        return f"missing required field: {missing}"
    pointer = "/" + "/".join(str(p) for p in error.absolute_path)
    if error.validator in ("maxLength", "maxItems"):
        unit = "characters" if error.validator == "maxLength" else "items"
        text = f"must be less than {error.validator_value + 1} {unit}"
    else:
        text = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"{text} [json-pointer:{pointer}]"


def _code(method: str, field: str, keyword: str, value: Any) -> str:
    """Method-specific codes from the responses schemas' ``x-error-code-sources``."""
    if method == "conversations.create" and field == "name":
        if keyword in ("required", "minLength"):
            return "invalid_name_required"
        if keyword == "maxLength":
            return "invalid_name_maxlength"
        if isinstance(value, str) and re.fullmatch(r"[-_]+", value):
            return "invalid_name_punctuation"
        return "invalid_name_specials"
    if method == "conversations.setTopic" and field == "topic" and keyword == "maxLength":
        return "too_long"
    if method in ("chat.postMessage", "chat.update"):
        return _message_code(field, keyword)
    by_field = {
        ("bookmarks.add", "link"): "invalid_link",
        ("bookmarks.add", "type"): "invalid_bookmark_type",
        ("bookmarks.add", "emoji"): "invalid_emoji",
        ("pins.add", "timestamp"): "no_item_specified"
        if keyword == "required"
        else "bad_timestamp",
        ("conversations.list", "limit"): "invalid_limit",
        ("conversations.list", "types"): "invalid_types",
        ("conversations.list", "cursor"): "invalid_cursor",
    }
    return by_field.get((method, field), "invalid_arguments")


def _message_code(field: str, keyword: str) -> str:
    if field == "blocks":
        return "invalid_blocks_format" if keyword == "type" else "invalid_blocks"
    if field == "attachments" and keyword == "maxItems":
        return "too_many_attachments"
    if field == "metadata":
        return "invalid_metadata_format"
    if not field and keyword == "anyOf":
        return "no_text"
    if not field and keyword == "not":
        return "markdown_text_conflict"
    return "invalid_arguments"


__all__ = ["DEMO_TOKEN", "SlackChannel", "SlackMessage", "SlackWebReceiver"]
