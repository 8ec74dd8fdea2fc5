"""The impact of a burn, measured as it happens: its start, peak and budget spent. Pure.

For the postmortem and the backtest; see :func:`track_impact`.
"""

from __future__ import annotations

from dataclasses import replace

from sloguard.burn import Evaluation
from sloguard.lifecycle._state import EpisodeState


def fastest_burn_rate(evaluation: Evaluation) -> float | None:
    """The burn rate of the shortest window of the evaluation (None when unknown)."""
    rates = evaluation.burn_rates
    return rates[min(rates)] if rates else None


def track_impact(
    old: EpisodeState, new: EpisodeState, evaluation: Evaluation, now: float
) -> EpisodeState:
    """Measure the burn with the shortest window ("fast" burn rate ``b``, 5m by default).

    * A *run* is a stretch of evaluations with ``b > 1`` (spending the budget faster than the
      period allows). No data neither starts nor ends a run; ``b <= 1`` ends it.
    * Burn-seconds add ``b x (now - previous evaluation)`` at every evaluation (a right
      Riemann sum; the burn is taken as constant since the previous evaluation). Divided by the
      SLO period they are the share of the error budget spent (exact for steady traffic).
    * At the declaration the episode takes over the run: ``burn_started_at`` is the run's
      start (the declaration itself when ``b`` was not above 1), its peak and burn-seconds.
      From then on, until the resolve included, every evaluation adds to the episode.
    """
    burn = fastest_burn_rate(evaluation)
    dt = now - old.last_at if old.last_at is not None else 0.0
    spent = (burn or 0.0) * max(dt, 0.0)
    since: float | None
    if burn is not None and burn > 1.0:
        if old.burning_since is None:
            since, run_peak, run_seconds = now, burn, spent
        else:
            since = old.burning_since
            run_peak = max(old.run_peak_burn_rate, burn)
            run_seconds = old.run_burn_seconds + spent
    elif burn is None:
        since, run_peak, run_seconds = (
            old.burning_since,
            old.run_peak_burn_rate,
            old.run_burn_seconds,
        )
    else:
        since, run_peak, run_seconds = None, 0.0, 0.0
    out = replace(
        new, burning_since=since, run_peak_burn_rate=run_peak, run_burn_seconds=run_seconds
    )
    remaining = evaluation.error_budget_remaining
    if new.open and (not old.open or new.episode_id != old.episode_id):  # declared now
        return replace(
            out,
            burn_started_at=since if since is not None else now,
            peak_burn_rate=run_peak if since is not None else (burn or 0.0),
            burn_seconds=run_seconds if since is not None else spent,
            budget_remaining=remaining,
        )
    if old.open:  # the episode goes on (or resolves now)
        return replace(
            out,
            peak_burn_rate=max(old.peak_burn_rate, burn or 0.0),
            burn_seconds=old.burn_seconds + spent,
            budget_remaining=remaining if remaining is not None else old.budget_remaining,
        )
    return out
