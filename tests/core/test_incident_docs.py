"""docs/incident.md shows what the code renders: each example is checked against it, so the
page cannot drift from what an engineer, a commander and a customer actually see."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloguard.notify._incident_text import announcement, first_message, topic, transition_message
from sloguard.notify.statuspage import StatuspageConfig, StatusTemplates, open_body
from sloguard.records import incident_channel_name
from tests.support.incident import deescalating_episode, incident_episode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "incident.md").read_text()
DECLARED, ESCALATED, STALE, RESOLVED = incident_episode()
STATUS = StatuspageConfig(name="public", type="statuspage", api_key_env="X", page_id="abc")
TEMPLATES = StatusTemplates()
DEESCALATED = deescalating_episode()[1]

RENDERED = [
    pytest.param(incident_channel_name(DECLARED.slo, DECLARED.episode_id, DECLARED.at), id="name"),
    pytest.param(topic(DECLARED), id="topic"),
    pytest.param(first_message(DECLARED), id="first-message"),
    pytest.param(transition_message(ESCALATED), id="escalated"),
    pytest.param(transition_message(DEESCALATED), id="deescalated"),
    pytest.param(transition_message(STALE), id="stale"),
    pytest.param(transition_message(RESOLVED), id="resolved"),
    pytest.param(open_body(DECLARED, STATUS)["incident"]["name"], id="status-title"),
    pytest.param(open_body(DECLARED, STATUS)["incident"]["body"], id="status-investigating"),
    pytest.param(TEMPLATES.escalated.format(component="Checkout"), id="status-escalated"),
    pytest.param(TEMPLATES.deescalated.format(component="Checkout"), id="status-deescalated"),
    pytest.param(TEMPLATES.resolved.format(component="Checkout"), id="status-resolved"),
]


@pytest.mark.parametrize("text", RENDERED)
def test_the_page_shows_what_the_code_renders(text: str) -> None:
    assert text in DOC


def test_the_announcement_is_shown_too() -> None:
    line = announcement(DECLARED, "C0000002")
    assert " ".join(line.split()) in " ".join(DOC.split())
