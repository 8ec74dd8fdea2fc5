"""Who hears about an episode: routes and silences. Pure.

* A **route** matches on severities and on the SLO (names, labels) and names notifiers. Every
  matching route contributes its notifiers (a union, in config order, without repeats), so a
  SEV1 can page PagerDuty while the same SLO's SEV3 opens a ticket elsewhere.
* A notifier that has been told about an episode hears the rest of it: escalations routed to
  it, and the resolve and the stale warning whatever their routes say, so nothing it opened is
  left open. A notifier routed only at a higher severity first hears a *declaration* at the
  escalation (its incident starts there).
* A notifier that *follows the severity* (``dispatch(followers=...)``: the incident channel,
  the status page, the ticket) also hears de-escalations and re-escalations, which page no one.
  A follower not yet told hears a *declaration* when the episode moves, without a page, into a
  severity it is routed at (a SEV1 easing into SEV3 opens the SEV3 ticket), outside a silence;
  a follower whose severities the episode never burns at hears nothing of it. A pager is never
  told on the way down.
* A **silence** (maintenance window) matches SLOs the same way and mutes pages between
  ``start`` and ``end``; :mod:`sloguard.lifecycle` still tracks the episode.

Labels seen by matchers: the SLO's labels, its alert labels (``spec.alerting.labels``, and for
routing a severity, the page or ticket alert labels), the group labels of a grouped SLO, and
``service``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from sloguard.lifecycle import EpisodeState, Event, EventKind
from sloguard.model import Severity


def _frozen(mapping: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Matcher:
    """Matches an SLO by name (any of ``slos``; empty = any) and by exact label values (all)."""

    slos: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=_frozen)

    def matches(self, slo: str, labels: Mapping[str, str]) -> bool:
        if self.slos and slo not in self.slos:
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())


@dataclass(frozen=True, slots=True)
class Route:
    notifiers: tuple[str, ...]
    severities: frozenset[Severity] = frozenset()  # empty = every paging severity
    match: Matcher = field(default_factory=Matcher)
    # Budget events ("budget.exhausted", ...) this route takes; a route naming events takes
    # only those, and a route naming none takes only the episodes' events.
    events: frozenset[str] = frozenset()

    def matches(self, severity: Severity, slo: str, labels: Mapping[str, str]) -> bool:
        if self.events or (self.severities and severity not in self.severities):
            return False
        return self.match.matches(slo, labels)

    def takes(self, event: str, slo: str, labels: Mapping[str, str]) -> bool:
        """Whether the route takes the budget event ``event`` of ``slo``."""
        return event in self.events and self.match.matches(slo, labels)


@dataclass(frozen=True, slots=True)
class Silence:
    """A maintenance window: ``start <= at < end`` (unix seconds)."""

    reason: str
    start: float
    end: float
    match: Matcher = field(default_factory=Matcher)

    def mutes(self, slo: str, labels: Mapping[str, str], at: float) -> bool:
        return self.start <= at < self.end and self.match.matches(slo, labels)


def active_silence(
    silences: Iterable[Silence], slo: str, labels: Mapping[str, str], at: float
) -> str:
    """The reason of the first silence muting ``slo`` at ``at``, or ""."""
    return next((s.reason for s in silences if s.mutes(slo, labels, at)), "")


def match_labels(
    slo_labels: Mapping[str, str], group_labels: Mapping[str, str], service: str
) -> dict[str, str]:
    """The labels routes and silences match on (group labels win over the SLO's)."""
    return {"service": service, **slo_labels, **group_labels}


def recipients(
    routes: Sequence[Route], severity: Severity, slo: str, labels: Mapping[str, str]
) -> tuple[str, ...]:
    """Notifiers of every route matching ``severity`` and the SLO, in config order, once each."""
    names: dict[str, None] = {}
    for route in routes:
        if route.matches(severity, slo, labels):
            names.update(dict.fromkeys(route.notifiers))
    return tuple(names)


def budget_recipients(
    routes: Sequence[Route], event: str, slo: str, labels: Mapping[str, str]
) -> tuple[str, ...]:
    """Notifiers of every route taking the budget event ``event`` of the SLO, once each."""
    names: dict[str, None] = {}
    for route in routes:
        if route.takes(event, slo, labels):
            names.update(dict.fromkeys(route.notifiers))
    return tuple(names)


# Recorded, not paged: what a follower of the severity hears of them.
_FOLLOWED: Mapping[EventKind, EventKind] = MappingProxyType(
    {EventKind.DEESCALATED: EventKind.DEESCALATED, EventKind.REESCALATED: EventKind.ESCALATED}
)
# Recorded, not paged: the episode now burns at the event's severity, which may be the first
# one a follower is routed at.
_ENTERED = frozenset({EventKind.DEESCALATED, EventKind.REESCALATED, EventKind.REFIRED})


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One notification to make: ``kind`` is what *this* notifier hears (see module doc)."""

    notifier: str
    kind: EventKind
    event: Event


def dispatch(
    state: EpisodeState,
    events: Sequence[Event],
    routes: Sequence[Route],
    slo: str,
    labels: Mapping[str, str],
    followers: Collection[str] = (),
    by_severity: Mapping[Severity, Mapping[str, str]] | None = None,
) -> tuple[EpisodeState, list[Dispatch]]:
    """Route the paged events of one step; returns the state with ``notified`` brought up to date.

    ``slo`` is the SLO's name (not the group key) and ``labels`` come from :func:`match_labels`.
    ``followers`` name the notifiers that follow an open incident's severity both ways (the
    incident channel, the status page, the ticket): of those already told about the episode,
    they also hear a de-escalation and a re-escalation (as an escalation), which are recorded
    but never paged, so the channel and the public page show the severity that burns now.
    A follower not told yet that is routed at the severity the episode eased or re-fired into
    hears that event as a declaration (the SEV3 ticket opens once the burn slowed to the
    ticket tier), unless the episode is silenced (``state.silenced``): a silence holds back
    what would open something new.
    ``by_severity`` gives the labels routes see for one severity where they differ from
    ``labels`` (an SLO's page or ticket alert labels, :meth:`sloguard.model.AlertMeta.labels_for`).
    """
    told = list(state.notified)
    out: list[Dispatch] = []
    for event in events:
        seen = (by_severity or {}).get(event.severity, labels)
        if event.kind in _FOLLOWED:
            heard = _FOLLOWED[event.kind]
            out.extend(Dispatch(name, heard, event) for name in told if name in followers)
        if event.kind in _ENTERED:
            if not state.silenced:
                joining = _joining(routes, event, slo, seen, followers, told)
                told.extend(joining)
                out.extend(Dispatch(name, EventKind.DECLARED, event) for name in joining)
            continue
        if not event.notify:
            continue
        if event.kind in (EventKind.RESOLVED, EventKind.STALE):
            out.extend(Dispatch(name, event.kind, event) for name in told)
            continue
        for name in recipients(routes, event.severity, slo, seen):
            if name in told:
                out.append(Dispatch(name, EventKind.ESCALATED, event))
            else:
                told.append(name)
                out.append(Dispatch(name, EventKind.DECLARED, event))
    return replace(state, notified=tuple(told)), out


def _joining(
    routes: Sequence[Route],
    event: Event,
    slo: str,
    labels: Mapping[str, str],
    followers: Collection[str],
    told: Collection[str],
) -> list[str]:
    """The followers routed at ``event``'s severity that have not been told of the episode."""
    routed = recipients(routes, event.severity, slo, labels)
    return [name for name in routed if name in followers and name not in told]
