"""Precision, recall, detection delay and reset time of each policy against known incidents,
as the SRE Workbook compares alerting methods ("Alerting on SLOs").

Matching (see docs/backtest.md): an episode *matches* an incident when it is of the incident's
SLO (any group of a grouped SLO) and its active span ``[declared_at, resolved_at]`` (up to the
end of the range while still open) overlaps ``[start, end]`` of the incident.

* precision = episodes matching at least one incident / all episodes of the policy;
* recall = incidents in the range matched by at least one episode / incidents in the range;
* detection delay of an incident = first matching declaration - incident start, at least 0
  (an episode already open when the incident starts detects it at once);
* reset time of an incident = last resolve of a matching episode - incident end (negative when
  the alert stopped before the incident did; unknown while that episode is still open).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sloguard.backtest._inputs import Incident
from sloguard.backtest._model import Episode, Result


@dataclass(frozen=True, slots=True)
class IncidentMatch:
    incident: Incident
    episodes: tuple[str, ...]  # episode ids
    detection_delay_seconds: float | None
    reset_time_seconds: float | None  # None: missed, or still open at the end of the range

    @property
    def detected(self) -> bool:
        return bool(self.episodes)


@dataclass(frozen=True, slots=True)
class Score:
    policy: str
    episodes: int
    matched_episodes: int
    incidents: int
    detected: int
    matches: tuple[IncidentMatch, ...]
    ignored: tuple[Incident, ...]  # outside the backtested range

    @property
    def precision(self) -> float | None:
        return self.matched_episodes / self.episodes if self.episodes else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.incidents if self.incidents else None

    def delays(self) -> list[float]:
        return [
            m.detection_delay_seconds for m in self.matches if m.detection_delay_seconds is not None
        ]

    def resets(self) -> list[float]:
        return [m.reset_time_seconds for m in self.matches if m.reset_time_seconds is not None]


def stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "max": None}
    return {
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "max": max(values),
    }


def _of(episode: Episode, incident: Incident) -> bool:
    return episode.slo_name == incident.slo


def _overlaps(episode: Episode, incident: Incident, range_end: float) -> bool:
    until = episode.resolved_at if episode.resolved_at is not None else range_end
    return episode.declared_at <= incident.end and until >= incident.start


def score(result: Result, incidents: Sequence[Incident]) -> list[Score]:
    """One score per policy of ``result``, in its order."""
    start, end = result.options.start, result.options.end
    inside = [i for i in incidents if i.end >= start and i.start <= end]
    ignored = tuple(i for i in incidents if i not in inside)
    out = []
    for policy in result.policies:
        episodes = [e for e in result.episodes if e.policy == policy.name]
        matched: set[str] = set()
        matches = []
        for incident in inside:
            hits = [e for e in episodes if _of(e, incident) and _overlaps(e, incident, end)]
            matched.update(e.episode_id for e in hits)
            delay = reset = None
            if hits:
                delay = max(0.0, min(e.declared_at for e in hits) - incident.start)
                if all(e.resolved_at is not None for e in hits):
                    reset = max(e.resolved_at or 0.0 for e in hits) - incident.end
            matches.append(IncidentMatch(incident, tuple(e.episode_id for e in hits), delay, reset))
        out.append(
            Score(
                policy=policy.name,
                episodes=len(episodes),
                matched_episodes=sum(1 for e in episodes if e.episode_id in matched),
                incidents=len(inside),
                detected=sum(1 for m in matches if m.detected),
                matches=tuple(matches),
                ignored=ignored,
            )
        )
    return out
