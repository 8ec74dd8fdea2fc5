"""The Jira notifier under Jira's burst limit: a 429 with ``Retry-After`` from the strict local
Jira is a retry no sooner than Jira asked, through the real outbox, and every episode still
ends as exactly one issue."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.receivers import JiraReceiver
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from sloguard.clock import ManualClock
from sloguard.delivery import Deliverer, RetryPolicy
from sloguard.lifecycle import EpisodeState
from sloguard.notify.jira import JiraConfig, JiraNotifier
from sloguard.records import Kind, OutboxRow
from sloguard.store import Store
from tests.support.fakes import RecordingMetrics
from tests.support.incident import DECLARED_AT, incident_note

EPISODES = 5
POLICY = RetryPolicy(initial_backoff_seconds=0.1, max_backoff_seconds=0.2, jitter_ratio=0.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "state.db")
    yield s
    s.close()


def _queue(store: Store) -> None:
    rows = []
    for i in range(EPISODES):
        n = dataclasses.replace(
            incident_note(Kind.DECLARED, severity="SEV3"),
            episode_id=f"sloguard-ep{i}",
            event_id=f"sloguard-ep{i}-declared",
        )
        rows.append(
            OutboxRow("tracker", n.episode_id, n.event_id, "declared", n.slo, "SEV3", n.to_json())
        )
    store.commit(EpisodeState(slo="checkout-availability"), [], rows, at=DECLARED_AT)


async def _drain_until_done(
    store: Store, clock: ManualClock, jira: JiraReceiver, step_seconds: float
) -> None:
    """Drain, then move the clock on by ``step_seconds``, until the outbox is empty. The
    backoff (0.1 s) is shorter than Jira's Retry-After (1 s), so only honouring the header
    keeps a retry from coming back too soon."""
    config = JiraConfig(
        name="tracker", type="jira", url=jira.url, email=DEMO_EMAIL, api_token_env="UNUSED",
        project="OPS",
    )  # fmt: skip
    async with httpx.AsyncClient() as client:
        notifier = JiraNotifier(config, client, api_token=DEMO_API_TOKEN, state=store)
        deliverer = Deliverer(
            store, {"tracker": notifier}, clock, policy=POLICY, rng=random.Random(1),
            metrics=RecordingMetrics(),
        )  # fmt: skip
        for _ in range(200):
            await deliverer.drain()
            if store.counts().pending == 0:
                break
            clock.advance(step_seconds)


def test_a_burst_is_told_to_wait_and_every_episode_is_one_issue(store: Store) -> None:
    clock = ManualClock(DECLARED_AT)
    with JiraReceiver(projects=["OPS"], burst_per_second=2, clock=clock.now) as jira:
        _queue(store)
        asyncio.run(_drain_until_done(store, clock, jira, 0.1))
        arrivals = list(jira.arrivals)
    counts = store.counts()
    assert (counts.pending, counts.delivered, counts.dead) == (0, EPISODES, 0)
    assert sorted(i.labels[1] for i in jira.issues) == [f"sloguard-ep{i}" for i in range(EPISODES)]
    throttled = [a for a in arrivals if a.outcome == "throttled"]
    assert throttled, "the burst limit must be reached for this to be a test"
    assert {a.status for a in throttled} == {429}
    for refused in throttled:  # the same endpoint again, no sooner than Retry-After (1 s)
        later = [
            a.at
            for a in arrivals
            if a.at > refused.at and (a.method, a.path) == (refused.method, refused.path)
        ]
        assert later
        assert min(later) - refused.at >= 1.0
