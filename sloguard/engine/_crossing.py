"""The fast path's cheap trigger: has an SLO's error ratio over one long window crossed its
factor? One direct query per window, not a verdict."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from sloguard.engine._ask import DEFAULT_CONCURRENCY, ask_all
from sloguard.engine._decode import as_samples, by_group
from sloguard.engine._plan import PlanOf
from sloguard.errors import SloguardError
from sloguard.model import SLO
from sloguard.ports import Source

# Each SLO with the (long window seconds, burn factor) pairs to check.
Probes = Sequence[tuple[SLO, Iterable[tuple[int, float]]]]


async def crossed(
    probes: Probes,
    source: Source,
    at: float,
    plan_of: PlanOf,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> set[str]:
    """The SLOs among ``probes`` whose error ratio over one of the given long windows burns
    over its factor at ``at`` (any group, for a grouped SLO): one direct query per window.

    A cheap trigger for the fast path (sloguard.fastpath), not a verdict: an SLO found here is
    then evaluated in full, and the lifecycle decides. A failed query crosses nothing; the
    regular tick reports the failure.
    """
    asks: list[tuple[SLO, int, float]] = []
    exprs: list[str] = []
    for slo, windows in probes:
        planned = plan_of(slo)
        for window, factor in windows:
            if window not in planned.ratio:
                continue
            asks.append((slo, window, factor))
            exprs.append(planned.ratio[window])
            if slo.min_events > 0 and window in planned.total:
                exprs.append(planned.total[window])  # the verdict would not count a thin window
    answers = await ask_all(list(dict.fromkeys(exprs)), source, at, concurrency=concurrency)
    out: set[str] = set()
    for slo, window, factor in asks:
        planned = plan_of(slo)
        try:
            ratio_q = planned.ratio[window]
            ratios = by_group(slo, ratio_q, as_samples(answers[ratio_q]))
            totals = None
            if slo.min_events > 0 and window in planned.total:
                total_q = planned.total[window]
                totals = by_group(slo, total_q, as_samples(answers[total_q]))
        except SloguardError:
            continue
        for group, ratio in ratios.items():
            if totals is not None and totals.get(group, 0.0) * window < slo.min_events:
                continue
            if math.isfinite(ratio) and ratio / slo.budget > factor:
                out.add(slo.name)
                break
    return out
