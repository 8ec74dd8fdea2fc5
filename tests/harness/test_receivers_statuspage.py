"""The Statuspage receiver is strict: each request the contract forbids is refused the way
Statuspage refuses it, the valid version is accepted, and rate limits and the incident lifecycle
behave as the contract says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.receivers import StatuspageReceiver
from harness.receivers._contracts import contract_validator
from harness.receivers.statuspage import DEMO_API_KEY, DEMO_PAGE_ID
from tests.support.receivers import Clock, contract_examples, example, http

SP_AUTH = {"Authorization": f"OAuth {DEMO_API_KEY}"}
COMPONENT = "8kbf7d35c070"


@pytest.mark.parametrize(("folder", "case"), contract_examples("statuspage"))
def test_contract_examples_hold(folder: str, case: dict[str, Any]) -> None:
    """The vendored Statuspage schemas accept and refuse the contract's own examples, through the
    same registry the receivers use."""
    checker = contract_validator(folder, case["schema"], case.get("def"))
    errors = list(checker.iter_errors(example(folder, case["file"])))
    assert (not errors) == (case["expect"] == "valid"), [e.message for e in errors]


def sp_url(r: StatuspageReceiver, tail: str = "incidents") -> str:
    return f"{r.api_url}/pages/{DEMO_PAGE_ID}/{tail}"


@pytest.fixture(scope="module")
def sp() -> Iterator[StatuspageReceiver]:
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
def test_statuspage_refuses(
    sp: StatuspageReceiver, verb: str, tail: str, body: Any, status: int, message: str
) -> None:
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
def test_statuspage_accepts_the_valid_examples(sp: StatuspageReceiver, name: str) -> None:
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
def test_statuspage_auth(
    sp: StatuspageReceiver, headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    response = http.get(sp_url(sp, "incidents/unresolved"), headers=headers, params=params)
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"message": "Could not authenticate"}


def test_statuspage_unknown_page_is_404(sp: StatuspageReceiver) -> None:
    response = http.get(f"{sp.api_url}/pages/zzzzzzzzzzzz/incidents", headers=SP_AUTH)
    assert response.status_code == 404


def test_statuspage_incident_lifecycle_and_metadata_lookup() -> None:
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
def test_statuspage_one_request_a_second_per_key(limit_status: int) -> None:
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


def test_statuspage_unpaginated_component_list_is_one_a_minute() -> None:
    clock = Clock()
    with StatuspageReceiver(clock=clock) as r:
        assert http.get(sp_url(r, "components"), headers=SP_AUTH).status_code == 200
        assert http.get(sp_url(r, "components"), headers=SP_AUTH).status_code == 429
        paged = http.get(
            sp_url(r, "components"), params={"page": 1, "per_page": 100}, headers=SP_AUTH
        )
        assert paged.status_code == 200
