"""The deploy gate of the error-budget policy: may a release go out now? Pure.

``sloguard gate`` (one evaluation against Prometheus) and the daemon's ``/api/v1/gate`` (its
last tick) both call :func:`decide`, so a pipeline gets the same answer from either. A release
is blocked when a selected SLO has less budget left than the policy asks, or burns at a
severity above the allowed one. When neither can be told for some SLO (no data, Prometheus
unreachable) the answer is *unknown*, and the policy says whether that blocks (fail closed, the
default) or allows (fail open). A known "no" always wins over an unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sloguard.burn import Evaluation
from sloguard.model import SLO, Severity

# The severities a policy may allow: above SEV2 (SEV1) always blocks, or it would be no gate.
ALLOWED_SEVERITIES = (Severity.OK, Severity.SEV3, Severity.SEV2)


class OnUnknown(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Policy:
    """What a release needs: ``min_budget_percent`` of every selected SLO's budget left, no burn
    above ``max_severity``; ``slos`` and ``services`` select (empty: every SLO)."""

    min_budget_percent: float = 10.0
    max_severity: Severity = Severity.SEV3
    on_unknown: OnUnknown = OnUnknown.BLOCK
    slos: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_budget_percent <= 100.0:
            raise ValueError(
                f"min_budget_percent must be between 0 and 100, not {self.min_budget_percent:g}"
            )
        if self.max_severity not in ALLOWED_SEVERITIES:
            raise ValueError(f"max_severity must be OK, SEV3 or SEV2, not {self.max_severity}")

    def selects(self, key: str, slo: SLO | None) -> bool:
        """Whether the policy covers the evaluation ``key`` (``name`` or ``name{group}``)."""
        name = key.split("{", 1)[0]
        if self.slos and name not in self.slos:
            return False
        return not self.services or (slo is not None and slo.service in self.services)


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer: ``allowed``, and every reason it is not (or might not be).

    ``unknown`` is True when some selected SLO could not be judged and nothing known blocks:
    the CLI exits 3 and the endpoint answers 503 unless the policy allows unknowns.
    """

    allowed: bool
    reasons: tuple[str, ...]
    unknown: bool
    checked: int


def _budget_text(remaining: float) -> str:
    return f"{remaining * 100:.1f}%"


def _judge(ev: Evaluation, policy: Policy) -> tuple[list[str], list[str]]:
    """The blocking reasons and the unknowns of one evaluation."""
    blocks: list[str] = []
    unknowns: list[str] = []
    if ev.error:
        unknowns.append(f"{ev.slo}: unknown: {ev.error}")
        return blocks, unknowns
    remaining = ev.error_budget_remaining
    if remaining is None:
        unknowns.append(f"{ev.slo}: unknown: no data for the error budget")
    elif remaining * 100.0 < policy.min_budget_percent:
        blocks.append(
            f"{ev.slo}: {_budget_text(remaining)} of the error budget left, "
            f"below the {policy.min_budget_percent:g}% the policy requires"
        )
    if ev.severity > policy.max_severity:
        blocks.append(
            f"{ev.slo}: burning at {ev.severity}, above the allowed {policy.max_severity}"
        )
    elif ev.severity is Severity.NO_DATA:
        unknowns.append(f"{ev.slo}: unknown: no data for the burn-rate windows")
    return blocks, unknowns


def decide(
    evaluations: Sequence[Evaluation], slos_by_key: Mapping[str, SLO], policy: Policy
) -> Decision:
    """The gate's decision on the evaluations the policy selects.

    Selecting nothing is unknown, never a silent pass: a typo in ``--slo`` must not open the
    gate.
    """
    selected = [ev for ev in evaluations if policy.selects(ev.slo, slos_by_key.get(ev.slo))]
    if not selected:
        wanted = ", ".join([*policy.slos, *(f"service {s}" for s in policy.services)])
        reason = f"no SLO matches {wanted}" if wanted else "no SLO has been evaluated"
        return _decision([], [reason], policy, 0)
    blocks: list[str] = []
    unknowns: list[str] = []
    for ev in selected:
        b, u = _judge(ev, policy)
        blocks += b
        unknowns += u
    return _decision(blocks, unknowns, policy, len(selected))


def _decision(blocks: list[str], unknowns: list[str], policy: Policy, checked: int) -> Decision:
    if blocks:
        return Decision(False, tuple(blocks + unknowns), unknown=False, checked=checked)
    if unknowns:
        allowed = policy.on_unknown is OnUnknown.ALLOW
        return Decision(allowed, tuple(unknowns), unknown=True, checked=checked)
    return Decision(True, (), unknown=False, checked=checked)


def slos_by_key(evaluations: Sequence[Evaluation], slos: Sequence[SLO]) -> dict[str, SLO]:
    """Each evaluation's key (``name`` or ``name{group}``) with the SLO it belongs to."""
    by_name = {s.name: s for s in slos}
    found = {ev.slo: by_name.get(ev.slo.split("{", 1)[0]) for ev in evaluations}
    return {key: slo for key, slo in found.items() if slo is not None}


QUERY_FIELDS = ("service", "slo", "min_budget_percent", "max_severity", "on_unknown")


def policy_from_query(query: Mapping[str, Sequence[str]]) -> Policy:
    """The policy of a ``/api/v1/gate`` query string (``service`` and ``slo`` may repeat).

    Raises ValueError naming the parameter and what would be valid.
    """
    unknown = sorted(set(query) - set(QUERY_FIELDS))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}: use {', '.join(QUERY_FIELDS)}")
    fields: dict[str, str] = {}
    for name in QUERY_FIELDS[2:]:
        values = query.get(name, ())
        if len(values) > 1:
            raise ValueError(f"{name} is given {len(values)} times: give it once")
        if values:
            fields[name] = values[0]
    try:
        budget = float(fields.get("min_budget_percent", "10"))
    except ValueError:
        raise ValueError("min_budget_percent must be a number of percent, e.g. 10") from None
    try:
        severity = Severity.parse(fields.get("max_severity", "SEV3"))
        on_unknown = OnUnknown(fields.get("on_unknown", "block"))
    except ValueError as exc:
        raise ValueError(
            f"{exc} (max_severity: OK, SEV3 or SEV2; on_unknown: allow or block)"
        ) from None
    return Policy(
        min_budget_percent=budget,
        max_severity=severity,
        on_unknown=on_unknown,
        slos=tuple(query.get("slo", ())),
        services=tuple(query.get("service", ())),
    )


def decision_json(decision: Decision, at: float | None) -> dict[str, object]:
    """The one JSON shape of a decision: ``sloguard gate -o json`` and ``/api/v1/gate``."""
    return {
        "allowed": decision.allowed,
        "unknown": decision.unknown,
        "reasons": list(decision.reasons),
        "checked": decision.checked,
        "at": at,
    }


__all__ = [
    "ALLOWED_SEVERITIES",
    "Decision",
    "OnUnknown",
    "Policy",
    "decide",
    "decision_json",
    "policy_from_query",
    "slos_by_key",
]
