"""The incident parts of the native SLO schema: the runbook's steps, the incident's people
(Slack IDs) and its bridge, and the SLO's component on the public status page."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from sloguard.spec._fields import StrictModel, check_url, shown

SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_INVITE_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")
STEP_MAX = 500  # one runbook step is one line of the page and the channel, not a document


class RunbookSpec(StrictModel):
    """What to look at, what to try, whom to call: shown in the page, the channel and the
    postmortem, so nobody has to find the runbook first."""

    diagnostics: list[str] = Field(default_factory=list)
    mitigations: list[str] = Field(default_factory=list)
    escalation: list[str] = Field(default_factory=list)

    @field_validator("diagnostics", "mitigations", "escalation")
    @classmethod
    def _steps(cls, value: list[str]) -> list[str]:
        for step in value:
            if not step.strip():
                raise ValueError("a runbook step is empty; write the command or the action")
            if len(step) > STEP_MAX:
                raise ValueError(
                    f"runbook step {shown(step)} is longer than {STEP_MAX} characters; "
                    "link a document from runbook_url instead"
                )
        return value


def check_slack_id(value: str, pattern: re.Pattern[str], what: str) -> str:
    if value and not pattern.match(value):
        raise ValueError(
            f"{what} {value!r} is not a Slack ID: give the member ID (U012AB3CD, from the "
            "profile's 'Copy member ID')"
            + (" or a user group ID (S0PAYMENTS)" if "S" in pattern.pattern else "")
            + ", not a display name"
        )
    return value


class RolesSpec(StrictModel):
    """Who holds which incident role, as Slack user IDs."""

    commander: str = ""
    tech_lead: str = ""
    communications: str = ""

    @field_validator("commander", "tech_lead", "communications")
    @classmethod
    def _user(cls, value: str) -> str:
        return check_slack_id(value, SLACK_USER_RE, "role holder")


class IncidentSpec(StrictModel):
    """The incident's people and its standing video bridge."""

    roles: RolesSpec = Field(default_factory=RolesSpec)
    invite: list[str] = Field(default_factory=list)
    bridge_url: str = ""

    @field_validator("invite")
    @classmethod
    def _invite(cls, value: list[str]) -> list[str]:
        for ref in value:
            check_slack_id(ref, SLACK_INVITE_RE, "invite")
        return value

    @field_validator("bridge_url")
    @classmethod
    def _bridge(cls, value: str) -> str:
        return check_url(value)


class StatusPageSpec(StrictModel):
    """The SLO's component on the public status page: its Statuspage id and public name."""

    component_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)

    @field_validator("component_id")
    @classmethod
    def _component(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9]+$", value):
            raise ValueError(
                f"component_id {value!r} is not a Statuspage component id: lowercase letters "
                "and digits, e.g. 8kbf7d35c070 (from the component's API page)"
            )
        return value
