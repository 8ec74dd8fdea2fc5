"""SLOs of several Mimir/Cortex tenants: each tenant's SLOs are planned and asked apart, under
that tenant, so no query ever combines two tenants' series (a combined query is answered in
one tenant only, and would read the other's SLO from the wrong data)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sloguard.burn import Evaluation
from sloguard.model import SLO

T = TypeVar("T")


def by_tenant(items: Sequence[T], slo_of: Callable[[T], SLO]) -> dict[str | None, list[T]]:
    """``items`` split by their SLO's tenant (None: the connection's), each in input order."""
    out: dict[str | None, list[T]] = {}
    for item in items:
        out.setdefault(slo_of(item).tenant, []).append(item)
    return out


def in_order(evaluations: Sequence[Evaluation], slos: Sequence[SLO]) -> list[Evaluation]:
    """``evaluations`` of several tenants back in the order of ``slos`` (the groups of a
    grouped SLO keep their order)."""
    rank = {slo.name: i for i, slo in enumerate(slos)}
    return sorted(evaluations, key=lambda ev: rank.get(ev.slo.split("{", 1)[0], len(rank)))
