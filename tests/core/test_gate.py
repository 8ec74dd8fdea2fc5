"""The deploy gate's decision (sloguard.gate), a pure function: tables of evaluations in."""

from __future__ import annotations

import pytest

from sloguard.burn import Evaluation
from sloguard.gate import OnUnknown, Policy, decide, decision_json, policy_from_query
from sloguard.model import SLO, RatioIndicator, Severity


def slo(name: str, service: str) -> SLO:
    return SLO(name, service, 99.9, 30 * 86400, RatioIndicator("errors", "total"))


SLOS = {
    "checkout-availability": slo("checkout-availability", "checkout"),
    "search-availability": slo("search-availability", "search"),
    "api{route=/a}": slo("api", "api"),
}


def ev(
    key: str, remaining: float | None, severity: Severity = Severity.OK, error: str = ""
) -> Evaluation:
    return Evaluation(key, 1000.0, severity, {}, remaining, None, error=error)


GOOD = ev("checkout-availability", 0.5)
LOW = ev("search-availability", 0.05)
LOW_REASON = "search-availability: 5.0% of the error budget left, below the 10% the policy requires"
SEV2 = ev("checkout-availability", 0.5, Severity.SEV2)
NO_DATA = ev("checkout-availability", None, Severity.NO_DATA)
BROKEN = ev("search-availability", None, Severity.NO_DATA, error="query failed: 503")


@pytest.mark.parametrize(
    ("evaluations", "policy", "allowed", "unknown", "reasons"),
    [
        pytest.param([GOOD], Policy(), True, False, [], id="budget-above-allows"),
        pytest.param(
            [GOOD, LOW], Policy(), False, False,
            [LOW_REASON], id="budget-below-blocks",
        ),
        pytest.param([GOOD, LOW], Policy(services=("checkout",)), True, False, [],
                     id="service-selects"),
        pytest.param([GOOD, LOW], Policy(slos=("checkout-availability",)), True, False, [],
                     id="slo-selects"),
        pytest.param([LOW], Policy(min_budget_percent=5), True, False, [],
                     id="exactly-at-the-line-allows"),
        pytest.param([ev("x", -0.2)], Policy(min_budget_percent=0), False, False,
                     ["x: -20.0% of the error budget left, below the 0% the policy requires"],
                     id="overspent-blocks-at-zero"),
        pytest.param(
            [SEV2], Policy(), False, False,
            ["checkout-availability: burning at SEV2, above the allowed SEV3"],
            id="sev2-above-sev3",
        ),
        pytest.param([SEV2], Policy(max_severity=Severity.SEV2), True, False, [],
                     id="sev2-allowed"),
        pytest.param(
            [ev("checkout-availability", 0.5, Severity.SEV3)], Policy(max_severity=Severity.OK),
            False, False, ["checkout-availability: burning at SEV3, above the allowed OK"],
            id="sev3-above-ok",
        ),
        pytest.param(
            [NO_DATA], Policy(), False, True,
            ["checkout-availability: unknown: no data for the error budget",
             "checkout-availability: unknown: no data for the burn-rate windows"],
            id="no-data-is-unknown",
        ),
        pytest.param([NO_DATA], Policy(on_unknown=OnUnknown.ALLOW), True, True, None,
                     id="unknown-allowed-fails-open"),
        pytest.param(
            [BROKEN], Policy(), False, True,
            ["search-availability: unknown: query failed: 503"], id="error-is-unknown",
        ),
        pytest.param([NO_DATA, LOW], Policy(on_unknown=OnUnknown.ALLOW), False, False, None,
                     id="known-no-wins-over-unknown"),
        pytest.param([GOOD], Policy(services=("nope",)), False, True,
                     ["no SLO matches service nope"], id="selecting-nothing-is-unknown"),
        pytest.param([], Policy(), False, True, ["no SLO has been evaluated"],
                     id="nothing-evaluated-is-unknown"),
        pytest.param([ev("api{route=/a}", 0.01)], Policy(slos=("api",)), False, False, None,
                     id="group-selected-by-its-slo-name"),
    ],
)  # fmt: skip
def test_decide(
    evaluations: list[Evaluation],
    policy: Policy,
    allowed: bool,
    unknown: bool,
    reasons: list[str] | None,
) -> None:
    decision = decide(evaluations, SLOS, policy)
    assert (decision.allowed, decision.unknown) == (allowed, unknown)
    if reasons is not None:
        assert list(decision.reasons) == reasons
    assert decision.allowed or decision.reasons


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, Policy(), id="defaults"),
        pytest.param(
            {"service": ["checkout", "search"], "min_budget_percent": ["25"],
             "max_severity": ["ok"], "on_unknown": ["allow"]},
            Policy(25, Severity.OK, OnUnknown.ALLOW, (), ("checkout", "search")),
            id="every-field",
        ),
        pytest.param({"slo": ["a"]}, Policy(slos=("a",)), id="slo"),
    ],
)  # fmt: skip
def test_policy_from_query(query: dict[str, list[str]], expected: Policy) -> None:
    assert policy_from_query(query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param({"budget": ["1"]}, "unknown parameter 'budget'", id="unknown-parameter"),
        pytest.param({"min_budget_percent": ["ten"]}, "must be a number", id="not-a-number"),
        pytest.param({"min_budget_percent": ["120"]}, "between 0 and 100", id="above-100"),
        pytest.param({"min_budget_percent": ["1", "2"]}, "given 2 times", id="twice"),
        pytest.param({"max_severity": ["SEV1"]}, "OK, SEV3 or SEV2", id="sev1-not-allowed"),
        pytest.param({"max_severity": ["bad"]}, "not a severity", id="not-a-severity"),
        pytest.param({"on_unknown": ["maybe"]}, "allow or block", id="bad-on-unknown"),
    ],
)
def test_bad_query_names_the_parameter(query: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        policy_from_query(query)


def test_decision_json_shape() -> None:
    body = decision_json(decide([LOW], SLOS, Policy()), 1000.0)
    assert body == {
        "allowed": False,
        "unknown": False,
        "reasons": [LOW_REASON],
        "checked": 1,
        "at": 1000.0,
    }
