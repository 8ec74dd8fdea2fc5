"""Budget events to Jira, PagerDuty and Opsgenie, through the outbox, to the contract receivers.

A scripted budget (tests.support.budget) goes through the daemon's tick, the SQLite outbox and
delivery to real notifiers; the receivers enforce the vendors' contracts and keep what each
service would show: a release-freeze ticket with comments, a PagerDuty alert and an Opsgenie
alert per line of the policy, each closed when the budget climbs back above its line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from harness.receivers import JiraReceiver, OpsgenieReceiver, PagerDutyReceiver
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from sloguard.notify.jira import JiraConfig, JiraNotifier
from sloguard.ports import MemoryNotifierState
from sloguard.records import Kind
from tests.support.budget import T0, drive, noisy_budget
from tests.support.fakes import notification

PD_KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"
OG_KEY = "eb243592-faa2-4ba2-a551-1afdf565c889"
FREEZE = "Release freeze for checkout: checkout-availability budget exhausted"
KEY = "budget:checkout-availability"


@dataclass
class Vendors:
    jira: JiraReceiver
    pd: PagerDutyReceiver
    og: OpsgenieReceiver


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    with (
        JiraReceiver(projects=["OPS"]) as jira,
        PagerDutyReceiver(routing_keys=[PD_KEY]) as pd,
        OpsgenieReceiver(api_keys=[OG_KEY]) as og,
    ):
        yield Vendors(jira, pd, og)


def write_config(tmp_path: Path, v: Vendors, events: str) -> Path:
    for name, value in (("jira", DEMO_API_TOKEN), ("pd", PD_KEY), ("og", OG_KEY)):
        (tmp_path / name).write_text(value)
    (tmp_path / "slos.yaml").write_text("")
    path = tmp_path / "sloguard.yaml"
    path.write_text(
        f"""\
prometheus: {{url: "http://127.0.0.1:9"}}
slo_paths: [{tmp_path / "slos.yaml"}]
state_path: {tmp_path / "state.db"}
notifiers:
  - {{name: tracker, type: jira, url: "{v.jira.url}", email: {DEMO_EMAIL},
      api_token_file: {tmp_path / "jira"}, project: OPS}}
  - {{name: pd, type: pagerduty, url: "{v.pd.enqueue_url}", routing_key_file: {tmp_path / "pd"}}}
  - {{name: og, type: opsgenie, url: "{v.og.url}", api_key_file: {tmp_path / "og"}}}
routes:
  - {{match: {{event: [{events}]}}, notifiers: [tracker, pd, og]}}
"""
    )
    return path


ALL = "budget.threshold_crossed, budget.exhausted, budget.recovered"


@pytest.mark.parametrize("seed", [1, 2])
def test_a_noisy_budget_gives_one_alert_per_line_and_one_freeze(
    tmp_path: Path, vendors: Vendors, seed: int
) -> None:
    vendors.pd.fail(2, status=503)  # the outbox keeps the first trigger until PagerDuty takes it
    vendors.og.fail(1, status=500)
    asyncio.run(drive(write_config(tmp_path, vendors, ALL), noisy_budget(seed)))

    assert [a.status for a in vendors.pd.arrivals[:3]] == [503, 503, 202]
    pd = {i.dedup_key: i for i in vendors.pd.incidents}
    assert sorted(pd) == [f"{KEY}:0", f"{KEY}:25", f"{KEY}:50"]
    assert [i.severities for i in (pd[f"{KEY}:50"], pd[f"{KEY}:25"], pd[f"{KEY}:0"])] == [
        ["warning"],
        ["warning"],
        ["error"],
    ]
    assert not vendors.pd.open_incidents()  # every line recovered, every alert resolved
    assert "budget exhausted" in pd[f"{KEY}:0"].summary

    og = {a.alias: a for a in vendors.og.alerts}
    assert sorted(og) == sorted(pd)
    assert [(og[k].priority, og[k].count) for k in (f"{KEY}:50", f"{KEY}:0")] == [
        ("P4", 1),
        ("P3", 1),
    ]
    assert not vendors.og.open_alerts()

    [ticket] = vendors.jira.issues
    assert ticket.summary == FREEZE
    assert "sloguard-budget" in ticket.labels
    comments = [str(c["body"]) for c in ticket.comments]
    assert len(comments) == 3  # recovered above 0 %, 25 %, 50 %: each once
    assert "Release freeze can end" in comments[0]
    assert "recovered above 50%" in comments[2]


@pytest.mark.parametrize(
    ("budget", "events", "pd_keys", "tickets"),
    [
        pytest.param([0.9, 0.4, 0.9], ALL, [f"{KEY}:50"], 0, id="a-line-without-a-freeze"),
        pytest.param([0.9, -0.1, 0.9], ALL, [f"{KEY}:0", f"{KEY}:25", f"{KEY}:50"], 1,
                     id="all-lines-in-one-tick"),
        pytest.param([0.9, -0.1, 0.9, -0.1], "budget.exhausted, budget.recovered",
                     [f"{KEY}:0"], 2, id="a-second-exhaustion-is-a-second-freeze"),
    ],
)  # fmt: skip
def test_routes_and_crossings(
    tmp_path: Path,
    vendors: Vendors,
    budget: list[float],
    events: str,
    pd_keys: list[str],
    tickets: int,
) -> None:
    asyncio.run(drive(write_config(tmp_path, vendors, events), budget))
    assert sorted({i.dedup_key for i in vendors.pd.incidents}) == sorted(pd_keys)
    assert sorted({a.alias for a in vendors.og.alerts}) == sorted(pd_keys)
    assert [i.summary for i in vendors.jira.issues] == [FREEZE] * tickets


def test_a_freeze_ticket_is_found_again_after_a_crash(vendors: Vendors) -> None:
    # The ticket was created but its key never saved (a crash): the retry, with a fresh
    # notifier state, finds it by its label and creates no second one.
    exhausted = replace(
        notification(Kind.BUDGET_EXHAUSTED, episode=KEY, at=T0, slo="checkout-availability"),
        threshold_percent=0.0,
        summary="checkout-availability: error budget exhausted: freeze risky releases",
    )
    config = JiraConfig(
        name="tracker", type="jira", url=vendors.jira.url, email=DEMO_EMAIL,
        api_token_env="UNUSED", project="OPS",
    )  # fmt: skip

    async def send() -> None:
        async with httpx.AsyncClient() as client:
            state = MemoryNotifierState()
            await JiraNotifier(config, client, api_token=DEMO_API_TOKEN, state=state).send(
                exhausted
            )

    asyncio.run(send())
    asyncio.run(send())
    [ticket] = vendors.jira.issues
    assert ticket.summary == FREEZE
