"""The state behind the fake Slack Web API: channels with their topic, members, bookmarks,
pins and messages in order, and what each method does to them.

Each method takes already schema-checked arguments and either returns the success body (without
``ok``) or raises :class:`SlackError` with the code Slack documents for that case (see
``contracts/slack-web/README.md``). Transport, auth, scopes and rate limits live in
``slack_web.py``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.receivers._server import Clock

BOOKMARKS_MAX = 100  # "Conversations are limited to 100 bookmarks" (bookmarks.add page)
TRUNCATE_AT = 40_000  # 2018-04 changelog: longer text is truncated, warning message_truncated
LIST_LIMIT_DEFAULT = 100


class SlackError(Exception):
    """An ``ok: false`` answer: ``code`` plus any extra envelope fields (``errors``, ...)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass
class SlackMessage:
    """One message as the channel shows it; ``edits`` holds every ``chat.update`` body."""

    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user}
        out["text"] = self.text
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        return out


@dataclass
class SlackChannel:
    """One conversation as the workspace keeps it."""

    id: str
    name: str
    creator: str
    created: int
    is_private: bool = False
    is_archived: bool = False
    topic: str = ""
    topic_set: int = 0
    members: list[str] = field(default_factory=list)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)
    messages: list[SlackMessage] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)

    def view(self, member: str) -> dict[str, Any]:
        """The conversation object of ``common.schema.json#/$defs/Conversation``."""
        topic_creator = self.creator if self.topic else ""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": member in self.members,
            "created": self.created,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": topic_creator, "last_set": self.topic_set},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "num_members": len(self.members),
        }

    def message(self, ts: str) -> SlackMessage | None:
        return next((m for m in self.messages if m.ts == ts), None)


class SlackWorkspace:
    """Channels, users and user groups of one workspace, with the bot ``bot_user``."""

    def __init__(
        self,
        *,
        bot_user: str,
        users: Iterable[str] | None,
        usergroups: Mapping[str, Iterable[str]],
        clock: Clock,
    ) -> None:
        self.bot_user = bot_user
        self.usergroups = {group: list(members) for group, members in usergroups.items()}
        self.users = None if users is None else {*users, *self._grouped()}
        self.channels: list[SlackChannel] = []
        self.clock = clock
        self._last_ts = (0, 0)
        self._bookmarks = 0
        # chat:write.public lets the bot post in public channels it is not a member of.
        self.public_post = False

    def _grouped(self) -> set[str]:
        return {user for members in self.usergroups.values() for user in members}

    def exists(self, user: str) -> bool:
        return self.users is None or user in self.users or user == self.bot_user

    # --- lookups ---------------------------------------------------------------------------
    def find(self, ref: str) -> SlackChannel:
        """A channel by ID, or by name (``#name`` or ``name``) where Slack allows one."""
        name = ref.removeprefix("#")
        for channel in self.channels:
            if ref == channel.id or name == channel.name:
                return channel
        raise SlackError("channel_not_found")

    def _writable(self, ref: str, *, member: bool = True) -> SlackChannel:
        channel = self.find(ref)
        if channel.is_archived:
            raise SlackError("is_archived")
        if member and self.bot_user not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def _next_ts(self) -> str:
        """Unique, increasing message ts: clock seconds plus a counter."""
        seconds, seq = self._last_ts
        now = int(self.clock())
        self._last_ts = (now, 1) if now > seconds else (seconds, seq + 1)
        return f"{self._last_ts[0]:010d}.{self._last_ts[1]:06d}"

    # --- methods ---------------------------------------------------------------------------
    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        if any(c.name == args["name"] for c in self.channels):  # archived ones keep the name
            raise SlackError("name_taken")
        channel = SlackChannel(
            id=f"C{len(self.channels) + 1:08X}",
            name=args["name"],
            creator=self.bot_user,
            created=int(self.clock()),
            is_private=bool(args.get("is_private", False)),
            members=[self.bot_user],  # the creator is a member
        )
        self.channels.append(channel)
        return {"channel": channel.view(self.bot_user)}

    def set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args["channel"])
        channel.topic, channel.topic_set = args["topic"], int(self.clock())
        return {"channel": channel.view(self.bot_user)}

    def invite(self, args: dict[str, Any]) -> dict[str, Any]:
        """All or nothing, unless ``force``: then the valid users are invited and the others
        reported in ``errors`` (docs: "continue inviting the valid ones")."""
        channel = self._writable(args["channel"])
        failed: list[dict[str, Any]] = []
        valid: list[str] = []
        for user in args["users"].split(","):
            code = self._invite_error(channel, user)
            if code is not None:
                failed.append({"user": user, "ok": False, "error": code})
            elif user not in valid:
                valid.append(user)
        if not failed or args.get("force"):
            channel.members.extend(valid)
        if failed:
            extra = {"errors": failed} if len(failed) + len(valid) > 1 else {}
            raise SlackError(failed[0]["error"], **extra)
        return {"channel": channel.view(self.bot_user)}

    def _invite_error(self, channel: SlackChannel, user: str) -> str | None:
        if user == self.bot_user:
            return "cant_invite_self"
        if not self.exists(user):
            return "user_not_found"
        if user in channel.members:
            return "already_in_channel"
        return None

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self.find(args["channel"]).view(self.bot_user)}

    def list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Pages of channels; the cursor is an opaque token (``invalid_cursor`` otherwise)."""
        types = set(args.get("types", "public_channel").split(","))
        shown = [
            c
            for c in self.channels
            if ("private_channel" if c.is_private else "public_channel") in types
            and not (args.get("exclude_archived") == "true" and c.is_archived)
        ]
        start = _decode_cursor(args["cursor"]) if "cursor" in args else 0
        limit = int(args.get("limit", LIST_LIMIT_DEFAULT))
        page = shown[start : start + limit]
        more = start + limit < len(shown)
        cursor = _encode_cursor(start + limit) if more else ""
        return {
            "channels": [c.view(self.bot_user) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args["channel"], member=False)
        if self.bot_user not in channel.members and (channel.is_private or not self.public_post):
            raise SlackError("not_in_channel")
        thread = args.get("thread_ts")
        if thread is not None:
            parent = channel.message(thread)
            if parent is None or parent.thread_ts is not None:
                raise SlackError("cannot_reply_to_message")  # sloguard's stand-in, see docs
        text, warnings = _truncated(args.get("text", ""))
        message = SlackMessage(
            ts=self._next_ts(),
            user=self.bot_user,
            text=text,
            blocks=args.get("blocks"),
            thread_ts=thread,
            metadata=args.get("metadata"),
        )
        channel.messages.append(message)
        body: dict[str, Any] = {"channel": channel.id, "ts": message.ts, "message": message.view()}
        return body | warnings

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args["channel"], member=False)
        message = channel.message(args["ts"])
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self.bot_user:
            raise SlackError("cant_update_message")
        message.edits.append(args)
        text, warnings = _truncated(args.get("text", message.text))
        message.text = text
        if "blocks" in args:
            message.blocks = args["blocks"]
        if "metadata" in args:
            message.metadata = args["metadata"]
        out = {"channel": channel.id, "ts": message.ts, "text": text, "message": message.view()}
        return out | warnings

    def bookmark(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args["channel_id"], member=False)
        if len(channel.bookmarks) >= BOOKMARKS_MAX:
            raise SlackError("too_many_bookmarks")
        self._bookmarks += 1
        now = int(self.clock())
        bookmark = {
            "id": f"Bk{self._bookmarks:08X}",
            "channel_id": channel.id,
            "title": args["title"],
            "link": args["link"],
            "emoji": args.get("emoji"),
            "icon_url": None,
            "type": "link",
            "entity_id": None,
            "date_created": now,
            "date_updated": now,
            "rank": "U",
            "last_updated_by_user_id": self.bot_user,
            "shortcut_id": None,
            "app_id": None,
        }
        channel.bookmarks.append(bookmark)  # no dedup: a retry is a second bookmark
        return {"bookmark": bookmark}

    def pin(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args["channel"])
        if channel.message(args["timestamp"]) is None:
            raise SlackError("message_not_found")
        if args["timestamp"] in channel.pins:
            raise SlackError("already_pinned")
        channel.pins.append(args["timestamp"])
        return {}

    def group_users(self, args: dict[str, Any]) -> dict[str, Any]:
        if args["usergroup"] not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[args["usergroup"]])}

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "conversations.create": self.create,
            "conversations.setTopic": self.set_topic,
            "conversations.invite": self.invite,
            "conversations.info": self.info,
            "conversations.list": self.list,
            "chat.postMessage": self.post,
            "chat.update": self.update,
            "bookmarks.add": self.bookmark,
            "pins.add": self.pin,
            "usergroups.users.list": self.group_users,
        }


def _truncated(text: str) -> tuple[str, dict[str, Any]]:
    """Slack keeps 40,000 characters of ``text`` and says so in a warning, not an error."""
    if len(text) <= TRUNCATE_AT:
        return text, {}
    warning = {
        "warning": "message_truncated",
        "response_metadata": {"warnings": ["message_truncated"]},
    }
    return text[:TRUNCATE_AT], warning


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        kind, _, offset = text.partition(":")
        if kind == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise SlackError("invalid_cursor")
