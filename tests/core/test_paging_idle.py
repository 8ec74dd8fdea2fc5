"""``paging.advance`` of an idle key: the route labels are built only when read (silences, or
a key that is not idle), and what it returns is what it returned when they were built first."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from sloguard.burn import Evaluation
from sloguard.lifecycle import EpisodeState, Phase
from sloguard.model import SLO, AlertMeta, RawIndicator, Severity
from sloguard.paging import PagingPolicy, advance
from sloguard.routing import Matcher, Route, Silence

T0 = 1_700_000_000.0
SLO_ = SLO(
    name="checkout",
    service="shop",
    objective_percent=99.9,
    period_seconds=30 * 86400,
    indicator=RawIndicator("vector(0)"),
    labels=MappingProxyType({"team": "payments"}),
    alerts=AlertMeta(labels=MappingProxyType({"tier": "one"})),
)
OK = Evaluation(
    slo="checkout",
    at=T0,
    severity=Severity.OK,
    burn_rates=MappingProxyType({300: 0.5, 3600: 0.5}),
    error_budget_remaining=0.9,
    time_to_exhaustion_seconds=None,
)
IDLE = EpisodeState(slo="checkout", last_at=T0 - 30, last_budget_remaining=0.9)
ROUTES = (Route(("pd",)),)


def _silence(**labels: str) -> Silence:
    return Silence("maintenance", T0 - 60, T0 + 60, Matcher(labels=MappingProxyType(labels)))


CASES = [
    pytest.param((), True, "", id="no-silences-idle"),
    pytest.param((_silence(team="other"),), True, "", id="a-silence-that-does-not-match-idle"),
    pytest.param((_silence(team="payments"),), False, "maintenance", id="muted-by-an-slo-label"),
    pytest.param((_silence(tier="one"),), False, "maintenance", id="muted-by-an-alert-label"),
    pytest.param((_silence(service="shop"),), False, "maintenance", id="muted-by-the-service"),
]


@pytest.mark.parametrize(("silences", "idle", "silenced"), CASES)
def test_an_idle_key_is_seen_unless_a_silence_matching_its_route_labels_starts(
    silences: tuple[Silence, ...], idle: bool, silenced: str
) -> None:
    policy = PagingPolicy(routes=ROUTES, silences=silences)
    out = advance(SLO_, OK, IDLE, T0, policy)
    assert out.seen_only is idle
    assert out.state.silenced == silenced
    assert out.state.phase is Phase.OK
    assert out.state.last_at == T0
    assert (out.events, out.rows) == ((), ())
