"""``sloguard postmortem push FILE --config C`` as a process against the strict local Jira:
each action item becomes one issue linked to the postmortem issue, once however often it
runs; items without an owner or a due date are refused with their file and line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.receivers import JiraReceiver
from harness.receivers.jira import DEMO_API_TOKEN, DEMO_EMAIL
from sloguard.notify.jira import JiraConfig, JiraNotifier, PostmortemTickets
from sloguard.ports import MemoryNotifierState
from sloguard.records import Kind
from tests.support.incident import EPISODE, incident_note

REPO = Path(__file__).resolve().parents[2]

EDITED = f"""# Postmortem draft: checkout-availability, SEV1, 2024-03-18

## Links

- Episode id: `{EPISODE}`

## Action items

- [ ] Add a canary for checkout (owner: 5b10ac8d82e05b22cc7d4ef5, due: 2024-04-01)
- [x] Alert on the payments DB pool saturation (owner: 5b10ac8d82e05b22cc7d4ef6, due: 2024-03-29)
"""


@pytest.fixture
def jira(tmp_path: Path) -> Iterator[JiraReceiver]:
    with JiraReceiver(projects=["OPS"]) as receiver:
        config = JiraConfig(
            name="tracker", type="jira", url=receiver.url, email=DEMO_EMAIL,
            api_token_env="UNUSED", project="OPS", postmortem=PostmortemTickets(),
        )  # fmt: skip

        async def resolve_a_paged_episode() -> None:
            async with httpx.AsyncClient() as client:
                notifier = JiraNotifier(
                    config, client, api_token=DEMO_API_TOKEN, state=MemoryNotifierState()
                )
                await notifier.send(incident_note(Kind.RESOLVED, severity="SEV1"))

        asyncio.run(resolve_a_paged_episode())
        (tmp_path / "slos").mkdir()
        (tmp_path / "jira-token").write_text(DEMO_API_TOKEN + "\n")
        (tmp_path / "sloguard.yaml").write_text(
            f"""\
prometheus: {{url: "http://127.0.0.1:9"}}
slo_paths: [slos/]
state_path: state/sloguard.db
notifiers:
  - name: tracker
    type: jira
    url: "{receiver.url}"
    email: {DEMO_EMAIL}
    api_token_file: jira-token
    project: OPS
    postmortem: {{due_days: 5}}
"""
        )
        yield receiver


def _push(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "postmortem.md").write_text(text)
    args = ["postmortem", "push", "postmortem.md", "--config", "sloguard.yaml"]
    return subprocess.run(
        [sys.executable, "-m", "sloguard", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_push_twice_creates_each_item_once_linked_to_the_postmortem(
    jira: JiraReceiver, tmp_path: Path
) -> None:
    first = _push(tmp_path, EDITED)
    assert first.returncode == 0, first.stderr
    second = _push(tmp_path, EDITED)
    assert second.returncode == 0, second.stderr
    postmortem = next(i for i in jira.issues if i.summary.startswith("Postmortem:"))
    actions = jira.with_label("sloguard-action")
    assert [a.summary for a in actions] == [
        "Add a canary for checkout",
        "Alert on the payments DB pool saturation",
    ]
    assert [a.duedate for a in actions] == ["2024-04-01", "2024-03-29"]
    assert actions[0].assignee == "5b10ac8d82e05b22cc7d4ef5"
    assert all(a.links[0]["key"] == postmortem.key for a in actions)
    assert first.stdout.count("created") == 2
    assert second.stdout.count("exists") == 2
    for out in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert DEMO_API_TOKEN not in out


REFUSED = [
    pytest.param("- [ ] Add a canary (due: 2024-04-01)", "has no owner", id="no-owner"),
    pytest.param("- [ ] Add a canary (owner: 5b10ac8d82e0)", "has no due", id="no-due"),
    pytest.param("- [ ] Be more careful", "has no owner and no due", id="vague"),
    pytest.param("- [ ] Canary (owner: abc, due: next week)", "is not a date", id="bad-date"),
]


@pytest.mark.parametrize(("item", "message"), REFUSED)
def test_unowned_or_undated_items_are_refused_where_they_are(
    jira: JiraReceiver, tmp_path: Path, item: str, message: str
) -> None:
    result = _push(tmp_path, EDITED.replace("- [ ] Add a canary for checkout", "- [ ] X") + item)
    assert result.returncode == 2
    line = len(EDITED.splitlines()) + 1
    assert f"postmortem.md:{line}:1: error: action item" in result.stderr
    assert message in result.stderr
    assert jira.with_label("sloguard-action") == []
