"""The Slack Web API receiver is strict: each request the contract forbids is refused the way
Slack refuses it, the valid version is accepted, and rate limits, envelopes and (lack of)
idempotency behave as the contract says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.receivers import SlackWebReceiver
from harness.receivers._contracts import contract_validator
from harness.receivers.slack_web import DEMO_TOKEN
from tests.support.receivers import Clock, contract_examples, example, http

SLACK_AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}
ROLES = ["U012AB3CD", "U045EF6GH", "U078IJ9KL"]


@pytest.mark.parametrize(("folder", "case"), contract_examples("slack-web"))
def test_contract_examples_hold(folder: str, case: dict[str, Any]) -> None:
    """The vendored Slack Web API schemas accept and refuse the contract's own examples, through the
    same registry the receivers use."""
    checker = contract_validator(folder, case["schema"], case.get("def"))
    errors = list(checker.iter_errors(example(folder, case["file"])))
    assert (not errors) == (case["expect"] == "valid"), [e.message for e in errors]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackWebReceiver]:
    with SlackWebReceiver(
        users=ROLES, usergroups={"S0PAYMENTS": ["U0PAY1", "U0PAY2"]}, rate_limits=False
    ) as receiver:
        channel = call(receiver, "conversations.create", {"name": "inc-existing"})["channel"]
        call(receiver, "chat.postMessage", {"channel": channel["id"], "text": "first"})
        yield receiver


def call(receiver: SlackWebReceiver, method: str, args: dict[str, Any], **kw: Any) -> Any:
    headers = {**SLACK_AUTH, **kw.pop("headers", {})}
    response = http.post(f"{receiver.api_url}/{method}", json=args, headers=headers, **kw)
    assert response.status_code == 200, response.text  # errors too: the ok:false envelope
    return response.json()


def existing(slack: SlackWebReceiver) -> tuple[str, str]:
    channel = slack.channel("inc-existing")
    return channel.id, channel.messages[0].ts


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


C = "{c}"  # the module channel's id, filled in by the test


def post(**args: Any) -> dict[str, Any]:
    return {"channel": C, "text": "a"} | args


def bookmark(**args: Any) -> dict[str, Any]:
    return {"channel_id": C, "title": "t", "type": "link", "link": "https://x"} | args


HUNDRED_AND_ONE = ",".join(f"U{i:08d}" for i in range(101))
OLD_TS = "1000000000.000001"
SLACK_REFUSED = [
    ("uppercase-space", "conversations.create", {"name": "Inc X"}, "invalid_name_specials"),
    ("not-ascii", "conversations.create", {"name": "inc-é"}, "invalid_name_specials"),
    ("name-81", "conversations.create", {"name": "a" * 81}, "invalid_name_maxlength"),
    ("punctuation", "conversations.create", {"name": "--_"}, "invalid_name_punctuation"),
    ("name-empty", "conversations.create", {"name": ""}, "invalid_name_required"),
    ("name-missing", "conversations.create", {}, "invalid_name_required"),
    ("name-taken", "conversations.create", {"name": "inc-existing"}, "name_taken"),
    ("unknown-arg", "conversations.create", {"name": "ok", "topic": "x"}, "invalid_arguments"),
    ("topic-251", "conversations.setTopic", {"channel": C, "topic": "t" * 251}, "too_long"),
    ("topic-missing", "conversations.setTopic", {"channel": C}, "invalid_arguments"),
    (
        "topic-nochan",
        "conversations.setTopic",
        {"channel": "C0NO", "topic": "t"},
        "channel_not_found",
    ),
    (
        "invite-self",
        "conversations.invite",
        {"channel": C, "users": "U0SLOGUARD"},
        "cant_invite_self",
    ),
    (
        "invite-unknown",
        "conversations.invite",
        {"channel": C, "users": "U0NOBODY"},
        "user_not_found",
    ),
    (
        "invite-array",
        "conversations.invite",
        {"channel": C, "users": ROLES[:1]},
        "invalid_arguments",
    ),
    (
        "invite-space",
        "conversations.invite",
        {"channel": C, "users": "U1A, U2B"},
        "invalid_arguments",
    ),
    (
        "invite-101",
        "conversations.invite",
        {"channel": C, "users": HUNDRED_AND_ONE},
        "invalid_arguments",
    ),
    ("post-no-content", "chat.postMessage", {"channel": C}, "no_text"),
    (
        "post-markdown-and-text",
        "chat.postMessage",
        post(markdown_text="b"),
        "markdown_text_conflict",
    ),
    ("post-51-blocks", "chat.postMessage", post(blocks=[header("h")] * 51), "invalid_blocks"),
    ("post-header-151", "chat.postMessage", post(blocks=[header("h" * 151)]), "invalid_blocks"),
    ("post-blocks-string", "chat.postMessage", post(blocks="[]"), "invalid_blocks_format"),
    ("post-block-type", "chat.postMessage", post(blocks=[{"type": "actions"}]), "invalid_blocks"),
    ("post-unknown-thread", "chat.postMessage", post(thread_ts=OLD_TS), "cannot_reply_to_message"),
    ("post-broadcast-alone", "chat.postMessage", post(reply_broadcast=True), "invalid_arguments"),
    ("post-nochan", "chat.postMessage", post(channel="C0NOPE"), "channel_not_found"),
    ("update-no-ts", "chat.update", post(), "invalid_arguments"),
    ("update-unknown-ts", "chat.update", post(ts=OLD_TS), "message_not_found"),
    ("bookmark-ftp", "bookmarks.add", bookmark(link="ftp://x"), "invalid_link"),
    ("bookmark-type", "bookmarks.add", bookmark(type="file"), "invalid_bookmark_type"),
    ("bookmark-title-257", "bookmarks.add", bookmark(title="t" * 257), "invalid_arguments"),
    ("pin-no-timestamp", "pins.add", {"channel": C}, "no_item_specified"),
    ("pin-unknown", "pins.add", {"channel": C, "timestamp": OLD_TS}, "message_not_found"),
]


def _fill(args: dict[str, Any], channel: str) -> dict[str, Any]:
    return {k: channel if v == C else v for k, v in args.items()}


@pytest.mark.parametrize(
    ("method", "args", "code"), [pytest.param(*row[1:], id=row[0]) for row in SLACK_REFUSED]
)
def test_slack_refuses_with_the_method_error(
    slack: SlackWebReceiver, method: str, args: dict[str, Any], code: str
) -> None:
    channel, _ = existing(slack)
    answer = call(slack, method, _fill(args, channel))
    assert answer["ok"] is False
    assert answer["error"] == code
    assert slack.arrivals[-1].outcome == "rejected"


SLACK_ACCEPTED = [
    ("create", "conversations.create", {"name": "inc-20240318-checkout-availability"}),
    ("create-80", "conversations.create", {"name": "a" * 80, "is_private": False}),
    ("topic-250", "conversations.setTopic", {"channel": C, "topic": "t" * 250}),
    ("invite-two", "conversations.invite", {"channel": C, "users": "U012AB3CD,U045EF6GH"}),
    ("post-blocks", "chat.postMessage", post(blocks=[header("h" * 150)])),
    ("post-by-name", "chat.postMessage", post(channel="#inc-existing")),
    ("post-markdown", "chat.postMessage", {"channel": C, "markdown_text": "**bold**"}),
    ("post-metadata", "chat.postMessage", post(metadata={"event_type": "e", "event_payload": {}})),
    ("bookmark", "bookmarks.add", bookmark(title="Runbook")),
]


@pytest.mark.parametrize(
    ("method", "args"), [pytest.param(*row[1:], id=row[0]) for row in SLACK_ACCEPTED]
)
def test_slack_accepts_the_valid_version(
    slack: SlackWebReceiver, method: str, args: dict[str, Any]
) -> None:
    channel, _ = existing(slack)
    answer = call(slack, method, _fill(args, channel))
    assert answer["ok"] is True, answer
    assert answer["warning"] == "missing_charset"  # httpx sends JSON without a charset


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        pytest.param({}, {"channel": "C1", "text": "a"}, "not_authed", id="no-token"),
        pytest.param(
            {"Authorization": "Bearer xoxb-unknown"},
            {"channel": "C1", "text": "a"},
            "invalid_auth",
            id="unknown-token",
        ),
        pytest.param(
            {"Authorization": "Bearer xoxp-user"},
            {"channel": "C1", "text": "a"},
            "invalid_auth",
            id="user-token",
        ),
        pytest.param(
            {},
            {"channel": "C1", "text": "a", "token": DEMO_TOKEN},
            "not_authed",
            id="json-token-in-body",
        ),
    ],
)
def test_slack_auth(
    slack: SlackWebReceiver, headers: dict[str, str], body: dict[str, Any], code: str
) -> None:
    response = http.post(f"{slack.api_url}/chat.postMessage", json=body, headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": False, "error": code})


def test_slack_form_body_token_and_scopes() -> None:
    with SlackWebReceiver(scopes=["chat:write"], rate_limits=False) as r:
        response = http.post(
            f"{r.api_url}/conversations.create", data={"name": "x", "token": DEMO_TOKEN}
        )
        assert response.json() == {
            "ok": False,
            "error": "missing_scope",
            "needed": "channels:manage",
            "provided": "chat:write",
        }


@pytest.mark.parametrize(
    ("method", "kwargs", "code"),
    [
        pytest.param(
            "chat.postMessage",
            {"content": b"text=a", "headers": {"Content-Type": "text/plain"}},
            "invalid_post_type",
            id="text-plain",
        ),
        pytest.param(
            "conversations.create",
            {"content": b"{oops", "headers": {"Content-Type": "application/json"}},
            "invalid_json",
            id="broken-json",
        ),
        pytest.param(
            "conversations.create",
            {"content": b"[1]", "headers": {"Content-Type": "application/json"}},
            "json_not_object",
            id="json-array",
        ),
        pytest.param(
            "chat.postMessage",
            {"content": b"{oops", "headers": {"Content-Type": "application/json"}},
            "invalid_arguments",
            id="broken-json-where-undocumented",
        ),
        pytest.param(
            "chat.postMessage", {"content": b"x"}, "missing_post_type", id="no-content-type"
        ),
        pytest.param(
            "conversations.info",
            {"json": {"channel": "C00000001"}},
            "invalid_post_type",
            id="info-json",
        ),
    ],
)
def test_slack_encodings(
    slack: SlackWebReceiver, method: str, kwargs: dict[str, Any], code: str
) -> None:
    kwargs = dict(kwargs)
    headers = {**SLACK_AUTH, **kwargs.pop("headers", {})}
    response = http.post(f"{slack.api_url}/{method}", headers=headers, **kwargs)
    assert response.json()["ok"] is False
    assert response.json()["error"] == code


def test_slack_reads_and_form_writes(slack: SlackWebReceiver) -> None:
    channel, ts = existing(slack)
    info = http.get(
        f"{slack.api_url}/conversations.info", params={"channel": channel}, headers=SLACK_AUTH
    )
    assert info.json()["channel"]["name"] == "inc-existing"
    assert (
        http.get(
            f"{slack.api_url}/conversations.info",
            params={"channel": "inc-existing"},
            headers=SLACK_AUTH,
        ).json()["error"]
        == "invalid_arguments"
    )
    groups = http.get(
        f"{slack.api_url}/usergroups.users.list",
        params={"usergroup": "S0PAYMENTS"},
        headers=SLACK_AUTH,
    )
    assert groups.json() == {"ok": True, "users": ["U0PAY1", "U0PAY2"]}
    unknown = http.get(
        f"{slack.api_url}/usergroups.users.list", params={"usergroup": "S0NONE"}, headers=SLACK_AUTH
    )
    assert unknown.json() == {"ok": False, "error": "no_such_subteam"}
    form = {"channel": channel, "text": "via form", "thread_ts": ts, "reply_broadcast": "true"}
    posted = http.post(f"{slack.api_url}/chat.postMessage", data=form, headers=SLACK_AUTH).json()
    assert posted["ok"]
    assert posted["message"]["thread_ts"] == ts
    assert "warning" not in posted
    charset = {**SLACK_AUTH, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    warned = http.post(
        f"{slack.api_url}/chat.postMessage", content=f"channel={channel}&text=x", headers=charset
    )
    assert warned.json()["warning"] == "superfluous_charset"
    long = call(slack, "chat.postMessage", {"channel": channel, "text": "x" * 40_001})
    assert long["ok"]
    assert "message_truncated" in long["warning"]
    assert len(slack.channel(channel).messages[-1].text) == 40_000


def test_slack_list_pages_with_a_cursor(slack: SlackWebReceiver) -> None:
    seen, cursor = [], None
    while cursor != "":
        params = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = http.get(
            f"{slack.api_url}/conversations.list", params=params, headers=SLACK_AUTH
        ).json()
        seen += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == [c.name for c in slack.channels if not c.is_private]
    for params, code in [
        ({"limit": "1000"}, "invalid_limit"),
        ({"cursor": "bm9wZQ=="}, "invalid_cursor"),
    ]:
        answer = http.get(f"{slack.api_url}/conversations.list", params=params, headers=SLACK_AUTH)
        assert answer.json()["error"] == code


def test_slack_incident_channel_state_in_order() -> None:
    """One channel as the slack_app notifier will build it, then the reuse path after a crash
    between create and commit: name_taken, found again with conversations.list."""
    with SlackWebReceiver(users=ROLES, usergroups={"S0PAY": ["U0PAY1"]}, rate_limits=False) as r:
        name = "inc-20240318-checkout-availability"
        cid = call(r, "conversations.create", {"name": name})["channel"]["id"]
        call(r, "conversations.setTopic", {"channel": cid, "topic": "SEV1 checkout-availability"})
        group = http.get(
            f"{r.api_url}/usergroups.users.list", params={"usergroup": "S0PAY"}, headers=SLACK_AUTH
        )
        members = ",".join(ROLES + group.json()["users"])
        assert call(r, "conversations.invite", {"channel": cid, "users": members})["ok"]
        again = call(r, "conversations.invite", {"channel": cid, "users": ROLES[0]})
        assert again == {"ok": False, "error": "already_in_channel"}
        for title in ("Runbook", "Dashboard"):
            call(
                r,
                "bookmarks.add",
                {"channel_id": cid, "title": title, "type": "link", "link": "https://x.example"},
            )
        first = call(r, "chat.postMessage", {"channel": cid, "text": "declared"})["ts"]
        call(r, "chat.postMessage", {"channel": cid, "text": "escalated"})
        call(r, "chat.postMessage", {"channel": cid, "text": "resolved"})
        call(r, "pins.add", {"channel": cid, "timestamp": first})
        assert (
            call(r, "pins.add", {"channel": cid, "timestamp": first})["error"] == "already_pinned"
        )
        call(r, "chat.update", {"channel": cid, "ts": first, "text": "declared (roles named)"})

        assert call(r, "conversations.create", {"name": name})["error"] == "name_taken"
        listed = http.get(f"{r.api_url}/conversations.list", headers=SLACK_AUTH).json()["channels"]
        assert [c["id"] for c in listed if c["name"] == name] == [cid]

        channel = r.channel(name)
        assert channel.topic == "SEV1 checkout-availability"
        assert channel.members == ["U0SLOGUARD", *ROLES, "U0PAY1"]
        assert [b["title"] for b in channel.bookmarks] == ["Runbook", "Dashboard"]
        assert [m.text for m in channel.messages] == [
            "declared (roles named)",
            "escalated",
            "resolved",
        ]
        assert channel.messages[0].edits[0]["text"] == "declared (roles named)"
        assert channel.pins == [first]
        r.archive(name)
        assert call(r, "conversations.create", {"name": name})["error"] == "name_taken"
        assert call(r, "chat.postMessage", {"channel": cid, "text": "x"})["error"] == "is_archived"


def test_slack_invite_is_all_or_nothing_unless_forced() -> None:
    with SlackWebReceiver(users=ROLES, rate_limits=False) as r:
        cid = call(r, "conversations.create", {"name": "inc-x"})["channel"]["id"]
        mixed = f"{ROLES[0]},U0NOBODY"
        answer = call(r, "conversations.invite", {"channel": cid, "users": mixed})
        assert answer["error"] == "user_not_found"
        assert answer["errors"] == [{"user": "U0NOBODY", "ok": False, "error": "user_not_found"}]
        assert r.channel(cid).members == ["U0SLOGUARD"]
        call(r, "conversations.invite", {"channel": cid, "users": mixed, "force": True})
        assert r.channel(cid).members == ["U0SLOGUARD", ROLES[0]]


def test_slack_rate_limits_per_tier_and_per_channel() -> None:
    clock = Clock()
    with SlackWebReceiver(clock=clock) as r:
        for i in range(20):  # conversations.create is Tier 2: 20 a minute
            assert call(r, "conversations.create", {"name": f"inc-{i}"})["ok"]
        clock.now += 15
        response = http.post(
            f"{r.api_url}/conversations.create", json={"name": "inc-20"}, headers=SLACK_AUTH
        )
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "45"
        assert response.json() == {"ok": False, "error": "ratelimited"}
        assert r.arrivals[-1].outcome == "throttled"
        a, b = r.channels[0].id, r.channels[1].id
        for _ in range(60):
            assert call(r, "chat.postMessage", {"channel": a, "text": "x"})["ok"]
        over = http.post(
            f"{r.api_url}/chat.postMessage", json={"channel": a, "text": "x"}, headers=SLACK_AUTH
        )
        assert over.status_code == 429
        assert call(r, "chat.postMessage", {"channel": b, "text": "x"})["ok"]  # other channel
        clock.now += 45
        assert call(r, "conversations.create", {"name": "inc-20"})["ok"]
