"""``/api/v1/gate`` from what the daemon shows (status.Shown.gate): status codes and bodies."""

from __future__ import annotations

from typing import Any

import pytest

from sloguard.burn import Evaluation
from sloguard.model import SLO, RatioIndicator, Severity
from sloguard.status import Shown

CHECKOUT = SLO("checkout-availability", "checkout", 99.9, 30 * 86400, RatioIndicator("e", "t"))


def shown(remaining: float | None, severity: Severity = Severity.OK) -> Shown:
    s = Shown()
    ev = Evaluation(CHECKOUT.name, 500.0, severity, {}, remaining, None)
    s.update(500.0, [ev], {CHECKOUT.name: CHECKOUT}, prometheus_up=True, open_states=[],
             fast=False)  # fmt: skip
    return s


@pytest.mark.parametrize(
    ("state", "query", "status", "allowed"),
    [
        pytest.param(Shown(), {}, 503, False, id="no-tick-yet-cannot-know"),
        pytest.param(shown(0.5), {"service": ["checkout"]}, 200, True, id="allowed"),
        pytest.param(shown(0.05), {}, 200, False, id="blocked-is-still-200"),
        pytest.param(shown(None, Severity.NO_DATA), {}, 503, False, id="no-data-503"),
        pytest.param(shown(None, Severity.NO_DATA), {"on_unknown": ["allow"]}, 200, True,
                     id="no-data-allowed-200"),
        pytest.param(shown(0.5), {"max_severity": ["SEV1"]}, 400, False, id="bad-query-400"),
    ],
)  # fmt: skip
def test_gate_status(state: Shown, query: dict[str, list[str]], status: int, allowed: bool) -> None:
    code, body = state.gate(query)
    assert (code, body["allowed"]) == (status, allowed)
    assert set(body) >= {"allowed", "reasons", "at"}


def test_gate_answers_at_the_last_tick() -> None:
    body: dict[str, Any] = shown(0.5).gate({})[1]
    assert body["at"] == 500.0
