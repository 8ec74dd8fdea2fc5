"""Helpers shared by the incident receivers' tests (Slack Web API, Statuspage, Jira Cloud):
one HTTP client, a hand-moved clock, and the contracts' own examples. No tests here."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import httpx
import pytest

# No connection kept open between calls (the receivers allow keep-alive): none outlives a test.
http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))


class Clock:
    """A receiver clock the test moves by hand: rate limits without real sleeps."""

    def __init__(self) -> None:
        self.now = 1_710_000_000.0

    def __call__(self) -> float:
        return self.now


def contract_examples(folder: str) -> list[Any]:
    """One parameter per example listed in a vendored contract's manifest, as (folder, case)."""
    manifest = files("harness").joinpath("contracts", folder, "examples", "manifest.json")
    cases = json.loads(manifest.read_text("utf-8"))["cases"]
    return [pytest.param(folder, case, id=f"{folder}/{case['file']}") for case in cases]


def example(folder: str, name: str) -> Any:
    """The decoded JSON of one example file of a vendored contract."""
    text = files("harness").joinpath("contracts", folder, "examples", name)
    return json.loads(text.read_text("utf-8"))
