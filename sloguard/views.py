"""The one JSON shape of an evaluation: ``/api/v1/slos`` and ``sloguard evaluate -o json``.

Pure: an :class:`~sloguard.burn.Evaluation` and the SLO it belongs to in, a JSON-ready dict
out. docs/api.md and the README describe the fields.
"""

from __future__ import annotations

from typing import Any

from sloguard.burn import Evaluation
from sloguard.model import SLO


def evaluation_json(ev: Evaluation, slo: SLO | None) -> dict[str, Any]:
    """One evaluation with its SLO's identity (``slo`` None: a key whose SLO is gone)."""
    return {
        "slo": ev.slo,
        "service": slo.service if slo else None,
        "objective_percent": slo.objective_percent if slo else None,
        "period": slo.period if slo else None,
        "at": ev.at,
        "severity": ev.severity.name,
        "burn_rates": ev.burn_rates_by_name(),
        "error_budget_remaining": ev.error_budget_remaining,
        "time_to_exhaustion_seconds": ev.time_to_exhaustion_seconds,
        "labels": dict(ev.labels),
        "tiers": [
            {
                "severity": d.tier.severity.name,
                "long": d.tier.long,
                "short": d.tier.short,
                "factor": d.factor,
                "long_burn_rate": d.long_burn_rate,
                "short_burn_rate": d.short_burn_rate,
                "state": str(d.state),
            }
            for d in ev.tiers
        ],
        "firing": [
            {"severity": d.tier.severity.name, "long": d.tier.long, "short": d.tier.short}
            for d in ev.firing
        ],
        "error": ev.error or None,
        "runbook_url": slo.runbook_url if slo else "",
        "dashboard_url": slo.dashboard_url if slo else "",
    }


__all__ = ["evaluation_json"]
