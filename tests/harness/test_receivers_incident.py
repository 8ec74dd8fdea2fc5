"""The incident receivers (Slack Web API, Statuspage, Jira Cloud) are strict: each request the
contract forbids is refused the way the vendor refuses it, the valid version is accepted, and
rate limits, envelopes and (lack of) idempotency behave as the contracts say."""

from __future__ import annotations

import base64
import json
from importlib.resources import files
from typing import Any

import httpx
import pytest

from harness.receivers import JiraReceiver, SlackWebReceiver, StatuspageReceiver
from harness.receivers._contracts import contract_validator
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from harness.receivers.slack_web import DEMO_TOKEN
from harness.receivers.statuspage import DEMO_API_KEY, DEMO_PAGE_ID

http = httpx.Client()
SLACK_AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}
SP_AUTH = {"Authorization": f"OAuth {DEMO_API_KEY}"}
JIRA_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()
}
COMPONENT = "8kbf7d35c070"
ROLES = ["U012AB3CD", "U045EF6GH", "U078IJ9KL"]


class Clock:
    """A receiver clock the test moves by hand: rate limits without real sleeps."""

    def __init__(self) -> None:
        self.now = 1_710_000_000.0

    def __call__(self) -> float:
        return self.now


def _examples(folder: str) -> list[Any]:
    manifest = files("harness").joinpath("contracts", folder, "examples", "manifest.json")
    cases = json.loads(manifest.read_text("utf-8"))["cases"]
    return [pytest.param(folder, case, id=f"{folder}/{case['file']}") for case in cases]


@pytest.mark.parametrize(
    ("folder", "case"), _examples("slack-web") + _examples("statuspage") + _examples("jira")
)
def test_contract_examples_hold(folder, case):
    """The vendored schemas accept and refuse the contracts' own examples, through the same
    registry the receivers use."""
    checker = contract_validator(folder, case["schema"], case.get("def"))
    text = files("harness").joinpath("contracts", folder, "examples", case["file"])
    errors = list(checker.iter_errors(json.loads(text.read_text("utf-8"))))
    assert (not errors) == (case["expect"] == "valid"), [e.message for e in errors]


# --- Slack Web API -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slack():
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
def test_slack_refuses_with_the_method_error(slack, method, args, code):
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
def test_slack_accepts_the_valid_version(slack, method, args):
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
def test_slack_auth(slack, headers, body, code):
    response = http.post(f"{slack.api_url}/chat.postMessage", json=body, headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": False, "error": code})


def test_slack_form_body_token_and_scopes():
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
def test_slack_encodings(slack, method, kwargs, code):
    kwargs = dict(kwargs)
    headers = {**SLACK_AUTH, **kwargs.pop("headers", {})}
    response = http.post(f"{slack.api_url}/{method}", headers=headers, **kwargs)
    assert response.json()["ok"] is False
    assert response.json()["error"] == code


def test_slack_reads_and_form_writes(slack):
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


def test_slack_list_pages_with_a_cursor(slack):
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


def test_slack_incident_channel_state_in_order():
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


def test_slack_invite_is_all_or_nothing_unless_forced():
    with SlackWebReceiver(users=ROLES, rate_limits=False) as r:
        cid = call(r, "conversations.create", {"name": "inc-x"})["channel"]["id"]
        mixed = f"{ROLES[0]},U0NOBODY"
        answer = call(r, "conversations.invite", {"channel": cid, "users": mixed})
        assert answer["error"] == "user_not_found"
        assert answer["errors"] == [{"user": "U0NOBODY", "ok": False, "error": "user_not_found"}]
        assert r.channel(cid).members == ["U0SLOGUARD"]
        call(r, "conversations.invite", {"channel": cid, "users": mixed, "force": True})
        assert r.channel(cid).members == ["U0SLOGUARD", ROLES[0]]


def test_slack_rate_limits_per_tier_and_per_channel():
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


# --- Statuspage ----------------------------------------------------------------------------
def sp_url(r: StatuspageReceiver, tail: str = "incidents") -> str:
    return f"{r.api_url}/pages/{DEMO_PAGE_ID}/{tail}"


def example(folder: str, name: str) -> Any:
    text = files("harness").joinpath("contracts", folder, "examples", name)
    return json.loads(text.read_text("utf-8"))


@pytest.fixture(scope="module")
def sp():
    components = {COMPONENT: "Checkout", "vtnh60py4yd7": "Search"}
    with StatuspageReceiver(components=components, rate_limit_per_minute=None) as receiver:
        yield receiver


def sp_case(stem: str, status: int, message: str, tail: str = "") -> Any:
    """A refused example of the contract: ``create-incident.invalid-*`` is a POST, the
    update examples PATCH the seeded incident or the component."""
    verb, tail = ("POST", "incidents") if stem.startswith("create") else ("PATCH", tail)
    body = example("statuspage", f"{stem}.json")
    return pytest.param(verb, tail, body, status, message, id=stem)


SEEDED, NO_ID = "incidents/inc000000001", "zzzzzzzzzzzz"
SP_REFUSED = [
    sp_case("create-incident.invalid-no-name", 422, "'name' is a required property"),
    sp_case("create-incident.invalid-name-256", 422, "incident.name"),
    sp_case("create-incident.invalid-status", 422, "incident.status"),
    sp_case("create-incident.invalid-impact", 422, "incident.impact_override"),
    sp_case("create-incident.invalid-component-status", 422, "incident.components"),
    sp_case("create-incident.invalid-metadata-scalar", 422, "incident.metadata"),
    sp_case("create-incident.invalid-body-25001", 422, "incident.body"),
    sp_case("create-incident.invalid-backfilled-with-components", 422, "incident"),
    sp_case("create-incident.invalid-realtime-with-scheduled-status", 422, "incident.status"),
    sp_case("create-incident.invalid-unwrapped", 400, "param is missing"),
    sp_case("update-incident.invalid-empty", 422, "incident", SEEDED),
    sp_case("update-incident.invalid-unknown-field", 422, "incident", SEEDED),
    sp_case("update-component.invalid-empty-status", 422, "status", f"components/{COMPONENT}"),
    sp_case("update-component.invalid-id-in-body", 422, "component", f"components/{COMPONENT}"),
    pytest.param(
        "POST",
        "incidents",
        {"incident": {"name": "x", "component_ids": [NO_ID]}},
        422,
        "could not be found",
        id="unknown-component",
    ),
    pytest.param(
        "PATCH",
        f"incidents/{NO_ID}",
        {"incident": {"status": "resolved"}},
        404,
        "incident",
        id="no-incident",
    ),
    pytest.param(
        "PATCH",
        f"components/{NO_ID}",
        {"component": {"status": "operational"}},
        404,
        "component",
        id="no-component",
    ),
]


@pytest.mark.parametrize(("verb", "tail", "body", "status", "message"), SP_REFUSED)
def test_statuspage_refuses(sp, verb, tail, body, status, message):
    if not sp.incidents:
        http.post(sp_url(sp), json={"incident": {"name": "seed"}}, headers=SP_AUTH)
    response = http.request(verb, sp_url(sp, tail), json=body, headers=SP_AUTH)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"message"}
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    "name",
    [
        "create-incident.valid.json",
        "create-incident.valid-minimal.json",
        "create-maintenance.valid.json",
    ],
)
def test_statuspage_accepts_the_valid_examples(sp, name):
    response = http.post(sp_url(sp), json=example("statuspage", name), headers=SP_AUTH)
    assert response.status_code == 201, response.text
    checker = contract_validator("statuspage", "incidents.responses.schema.json", "Created201")
    assert not list(checker.iter_errors(response.json()))


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        pytest.param({}, {}, 401, id="none"),
        pytest.param({"Authorization": "OAuth wrong-key"}, {}, 401, id="unknown-key"),
        pytest.param({"Authorization": f"Bearer {DEMO_API_KEY}"}, {}, 401, id="bearer-not-oauth"),
        pytest.param({}, {"api_key": DEMO_API_KEY}, 200, id="query-key"),
        pytest.param(SP_AUTH, {}, 200, id="oauth-header"),
    ],
)
def test_statuspage_auth(sp, headers, params, status):
    response = http.get(sp_url(sp, "incidents/unresolved"), headers=headers, params=params)
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"message": "Could not authenticate"}


def test_statuspage_unknown_page_is_404(sp):
    response = http.get(f"{sp.api_url}/pages/zzzzzzzzzzzz/incidents", headers=SP_AUTH)
    assert response.status_code == 404


def test_statuspage_incident_lifecycle_and_metadata_lookup():
    with StatuspageReceiver(components={COMPONENT: "Checkout"}, rate_limit_per_minute=None) as r:
        opened = {
            "name": "Checkout is unavailable",
            "status": "investigating",
            "impact_override": "critical",
            "body": "We are investigating failed checkouts.",
            "components": {COMPONENT: "major_outage"},
            "metadata": {"sloguard": {"episode": "ep-1"}},
        }
        created = http.post(sp_url(r), json={"incident": opened}, headers=SP_AUTH).json()
        again = http.get(sp_url(r, "incidents/unresolved"), headers=SP_AUTH).json()
        found = [i for i in again if i["metadata"] == {"sloguard": {"episode": "ep-1"}}]
        assert [i["id"] for i in found] == [created["id"]]  # a retry finds it, opens nothing
        eased = {
            "status": "identified",
            "impact_override": "major",
            "body": "Partly back.",
            "components": {COMPONENT: "partial_outage"},
        }
        http.patch(
            sp_url(r, f"incidents/{created['id']}"), json={"incident": eased}, headers=SP_AUTH
        )
        done = {"status": "resolved", "body": "Resolved.", "components": {COMPONENT: "operational"}}
        resolved = http.patch(
            sp_url(r, f"incidents/{created['id']}"), json={"incident": done}, headers=SP_AUTH
        )
        assert resolved.status_code == 200
        assert resolved.json()["resolved_at"] is not None
        assert http.get(sp_url(r, "incidents/unresolved"), headers=SP_AUTH).json() == []

        (incident,) = r.with_metadata("sloguard", "episode", "ep-1")
        assert [u["status"] for u in incident.updates] == [
            "investigating",
            "identified",
            "resolved",
        ]
        assert [u["affected_components"][0]["new_status"] for u in incident.updates] == [
            "major_outage",
            "partial_outage",
            "operational",
        ]
        assert r.components[COMPONENT].history == ["major_outage", "partial_outage", "operational"]
        assert r.components[COMPONENT].status == "operational"
        listed = http.get(
            sp_url(r, "components"), params={"page": 1, "per_page": 100}, headers=SP_AUTH
        )
        assert [c["status"] for c in listed.json()] == ["operational"]
        http.post(sp_url(r), json={"incident": opened}, headers=SP_AUTH)
        assert len(r.incidents) == 2  # no idempotency: the client must look first


@pytest.mark.parametrize("limit_status", [429, 420])
def test_statuspage_one_request_a_second_per_key(limit_status):
    clock = Clock()
    with StatuspageReceiver(rate_limit_status=limit_status, clock=clock) as r:
        for _ in range(60):
            assert http.get(sp_url(r, "incidents/unresolved"), headers=SP_AUTH).status_code == 200
        clock.now += 10
        over = http.get(sp_url(r, "incidents/unresolved"), headers=SP_AUTH)
        assert over.status_code == limit_status
        assert over.headers["Retry-After"] == "50"
        assert "message" in over.json()
        clock.now += 50
        assert http.get(sp_url(r, "incidents/unresolved"), headers=SP_AUTH).status_code == 200


def test_statuspage_unpaginated_component_list_is_one_a_minute():
    clock = Clock()
    with StatuspageReceiver(clock=clock) as r:
        assert http.get(sp_url(r, "components"), headers=SP_AUTH).status_code == 200
        assert http.get(sp_url(r, "components"), headers=SP_AUTH).status_code == 429
        paged = http.get(
            sp_url(r, "components"), params={"page": 1, "per_page": 100}, headers=SP_AUTH
        )
        assert paged.status_code == 200


# --- Jira Cloud ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jira():
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
def test_jira_refuses_with_an_error_collection(jira, path, body, field, text):
    if not jira.issues:
        assert jpost(jira, "issue", task()).status_code == 201  # OPS-1
    response = jpost(jira, path, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert set(answer) == {"errorMessages", "errors"}
    where = answer["errors"][field] if field else " ".join(answer["errorMessages"])
    assert text in where, answer


@pytest.mark.parametrize("name", ["create-issue.valid.json", "create-subtask.valid.json"])
def test_jira_accepts_the_valid_examples(jira, name):
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
def test_jira_not_found_and_gone(jira, path, status, text):
    response = jpost(
        jira, path, {"body": example("jira", "comment.valid.json")["body"], "jql": "x"}
    )
    assert response.status_code == status
    assert text in response.json()["errorMessages"][0]


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(None, id="none"),
        pytest.param((DEMO_EMAIL, "wrong"), id="wrong-token"),
        pytest.param(("ops-bot", DEMO_API_TOKEN), id="not-an-email"),
    ],
)
def test_jira_basic_auth(jira, auth):
    response = http.post(f"{jira.url}/rest/api/3/issue", json=task(), auth=auth)
    assert response.status_code == 401
    assert response.json()["errorMessages"]


def test_jira_postmortem_items_linked_found_by_label_once():
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


def test_jira_search_pages_and_is_eventually_consistent():
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


def test_jira_burst_limit_answers_429_with_headers():
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
