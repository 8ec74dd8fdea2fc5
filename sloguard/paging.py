"""From one evaluation of one SLO to its new episode state and outbox rows.

This is the middle of a tick: silence lookup, the lifecycle step, routing, and the
:class:`~sloguard.records.Notification` each routed notifier will receive, built once here
and stored as JSON so a retry after a restart sends the very same thing. No I/O: the caller
commits the result with :meth:`sloguard.ports.Store.commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from sloguard.budget import (
    BudgetEvent,
    BudgetPolicy,
    budget_event_id,
    budget_summary,
    step_budget,
)
from sloguard.burn import Evaluation, TierDecision, TierState
from sloguard.durations import human_duration
from sloguard.lifecycle import (
    EpisodeState,
    Event,
    EventKind,
    LifecyclePolicy,
    is_idle,
    seen,
    step,
)
from sloguard.model import SLO, Severity
from sloguard.postmortem import SloFacts
from sloguard.postmortem import render as render_postmortem
from sloguard.records import (
    EpisodeRecord,
    Kind,
    Notification,
    OutboxRow,
    Transition,
    incident_channel_name,
)
from sloguard.routing import (
    Route,
    Silence,
    active_silence,
    budget_recipients,
    dispatch,
    match_labels,
)

History = Callable[[str], EpisodeRecord | None]

_KINDS: Mapping[EventKind, Kind] = MappingProxyType(
    {
        EventKind.DECLARED: Kind.DECLARED,
        EventKind.ESCALATED: Kind.ESCALATED,
        EventKind.DEESCALATED: Kind.DEESCALATED,
        EventKind.RESOLVED: Kind.RESOLVED,
        EventKind.STALE: Kind.STALE,
    }
)


@dataclass(frozen=True, slots=True)
class PagingPolicy:
    """What the daemon config says about paging, in core types."""

    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    routes: tuple[Route, ...] = ()
    silences: tuple[Silence, ...] = ()
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    # A slack_app notifier is configured: every notification names the episode's channel.
    incident_channels: bool = False
    # Notifiers that follow an open incident's severity down as well as up (routing.dispatch).
    severity_followers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one SLO key at one tick, ready for one store transaction."""

    state: EpisodeState
    events: tuple[Event, ...]
    rows: tuple[OutboxRow, ...]
    # An idle key: ``state`` is the one given with only ``last_at`` and
    # ``last_budget_remaining`` moved (lifecycle.is_idle): the store writes those two alone.
    seen_only: bool = False


def advance(
    slo: SLO,
    evaluation: Evaluation,
    state: EpisodeState | None,
    now: float,
    policy: PagingPolicy,
    *,
    history: History | None = None,
) -> Outcome:
    """Apply ``evaluation`` (of ``slo``, at the tick's instant ``now``) to the episode state.

    ``history`` looks up what the store recorded about an episode (``Store.episode``); a
    resolve notification carries the postmortem draft built from it and this tick's events.
    """
    # The route labels are built only when something reads them: silences, or a key that is
    # not idle (at 10,000 SLOs nearly every key is idle every tick).
    labels: dict[str, str] | None = None
    silence = ""
    if policy.silences:
        labels = route_labels(slo, evaluation)
        silence = active_silence(policy.silences, slo.name, labels, now)
    level = state.budget_level if state is not None else 0
    level, crossed = step_budget(level, evaluation.error_budget_remaining, policy.budget)
    if not crossed and is_idle(state, evaluation, now, silence):
        assert state is not None
        return Outcome(seen(state, now, evaluation.error_budget_remaining), (), (), seen_only=True)
    if labels is None:
        labels = route_labels(slo, evaluation)
    stepped, events = step(state, evaluation, now, policy.lifecycle, silence=silence)
    stepped = replace(stepped, budget_level=level)
    budget_out = tuple(
        row
        for event in crossed
        for row in budget_rows(slo, evaluation, event, policy.routes, labels, now)
    )
    if not events:  # nothing to route (every idle key, every tick)
        return Outcome(stepped, (), budget_out)
    by_severity = severity_labels(slo, evaluation)
    routed, dispatches = dispatch(
        stepped,
        events,
        policy.routes,
        slo.name,
        labels,
        policy.severity_followers,
        by_severity,
    )
    rows = []
    draft = ""
    for d in dispatches:
        heard = by_severity.get(d.event.severity, labels)
        note = build_notification(
            slo, evaluation, d.event, _KINDS[d.kind], routed, heard, policy.lifecycle
        )
        if policy.incident_channels:
            declared = routed.declared_at if routed.declared_at is not None else note.at
            channel = incident_channel_name(note.slo, note.episode_id, declared)
            note = replace(note, incident_channel="#" + channel)
        if note.kind is Kind.RESOLVED:
            draft = draft or postmortem_draft(slo, routed, events, history)
            note = replace(note, postmortem_markdown=draft)
        rows.append(
            OutboxRow(
                notifier=d.notifier,
                episode_id=note.episode_id,
                event_id=note.event_id,
                kind=note.kind.value,
                slo=note.slo,
                severity=note.severity,
                payload=note.to_json(),
            )
        )
    return Outcome(routed, tuple(events), tuple(rows) + budget_out)


def route_labels(slo: SLO, evaluation: Evaluation) -> dict[str, str]:
    """The labels routes and silences match for the SLO key: the SLO's, its alert labels and
    the group's."""
    return match_labels({**slo.labels, **slo.alerts.labels}, evaluation.labels, slo.service)


def severity_labels(slo: SLO, evaluation: Evaluation) -> dict[Severity, dict[str, str]]:
    """The labels routes match for each paging severity: the SLO's, its alert labels with the
    page (SEV1, SEV2) or ticket (SEV3) ones, and the group's."""
    return {
        sev: match_labels(
            {**slo.labels, **slo.alerts.labels_for(sev)}, evaluation.labels, slo.service
        )
        for sev in (Severity.SEV1, Severity.SEV2, Severity.SEV3)
    }


def budget_rows(
    slo: SLO,
    evaluation: Evaluation,
    event: BudgetEvent,
    routes: Sequence[Route],
    labels: Mapping[str, str],
    now: float,
) -> list[OutboxRow]:
    """The outbox rows of one budget event: one per notifier of the routes that take it.

    Its ``episode_id`` is the SLO key's budget, so a notifier hears a key's budget events in
    order, apart from its incidents."""
    kind = Kind(event.kind.value)
    note = Notification(
        kind=kind,
        episode_id=f"budget:{evaluation.slo}",
        event_id=budget_event_id(evaluation.slo, event, now),
        slo=evaluation.slo,
        service=slo.service,
        severity=evaluation.severity.name,
        previous_severity=None,
        at=now,
        summary=budget_summary(evaluation.slo, event, slo.period),
        objective_percent=slo.objective_percent,
        period=slo.period,
        period_seconds=slo.exhaustion_period_seconds(now),
        burn_rates=evaluation.burn_rates_by_name(),
        error_budget_remaining=event.remaining,
        time_to_exhaustion_seconds=evaluation.time_to_exhaustion_seconds,
        labels=dict(labels),
        owner=dict(slo.owner),
        runbook_url=slo.runbook_url,
        dashboard_url=slo.dashboard_url,
        description=slo.description,
        threshold_percent=event.threshold_percent,
    )
    payload = note.to_json()
    return [
        OutboxRow(
            name, note.episode_id, note.event_id, kind.value, slo.name, note.severity, payload
        )
        for name in budget_recipients(routes, kind.value, slo.name, labels)
    ]


def postmortem_draft(
    slo: SLO, state: EpisodeState, events: Sequence[Event], history: History | None
) -> str:
    """The postmortem of the episode ``state`` names: what the store recorded before this tick,
    this tick's ``events``, and the impact figures of ``state`` (the freshest)."""
    recorded = history(state.episode_id) if history is not None else None
    now = tuple(
        Transition(
            at=e.at,
            kind=e.kind.value,
            severity=e.severity.name,
            previous=e.previous.name if e.previous is not None else None,
            paged=e.notify,
            reason=e.reason,
        )
        for e in events
        if e.episode_id == state.episode_id
    )
    episode = EpisodeRecord(
        id=state.episode_id,
        slo=state.slo,
        declared_at=state.declared_at
        if state.declared_at is not None
        else (now[0].at if now else 0.0),
        resolved_at=None if state.open else state.resolved_at,
        peak=state.peak.name,
        transitions=(recorded.transitions if recorded else ()) + now,
        deliveries=recorded.deliveries if recorded else (),
        burn_started_at=state.burn_started_at,
        peak_burn_rate=state.peak_burn_rate,
        burn_seconds=state.burn_seconds,
        budget_remaining=state.budget_remaining,
    )
    return render_postmortem(episode, SloFacts.of(slo))


def build_notification(
    slo: SLO,
    evaluation: Evaluation,
    event: Event,
    kind: Kind,
    state: EpisodeState,
    labels: Mapping[str, str],
    lifecycle: LifecyclePolicy,
) -> Notification:
    """What a receiver needs to act on ``event``, as ``kind`` (see :mod:`sloguard.routing`)."""
    closing = kind in (Kind.RESOLVED, Kind.STALE)
    severity = state.peak if closing else event.severity
    previous = event.previous if kind in (Kind.ESCALATED, Kind.DEESCALATED) else None
    return Notification(
        kind=kind,
        episode_id=event.episode_id,
        event_id=event.event_id,
        slo=event.slo,
        service=slo.service,
        severity=severity.name,
        previous_severity=previous.name
        if previous is not None and previous >= Severity.SEV3
        else None,
        at=event.at,
        summary=summary(slo, evaluation, event, kind, state, lifecycle),
        objective_percent=slo.objective_percent,
        period=slo.period,
        period_seconds=slo.exhaustion_period_seconds(event.at),
        burn_rates=evaluation.burn_rates_by_name(),
        thresholds={_tier_name(d): d.factor for d in evaluation.tiers},
        error_budget_remaining=evaluation.error_budget_remaining,
        time_to_exhaustion_seconds=evaluation.time_to_exhaustion_seconds,
        labels=dict(labels),
        owner=dict(slo.owner),
        runbook_url=slo.runbook_url,
        dashboard_url=slo.dashboard_url,
        description=slo.description,
        runbook=slo.runbook.steps(),
        roles=dict(slo.incident.roles),
        invite=slo.incident.invite,
        bridge_url=slo.incident.bridge_url,
        status_component=(
            {"component_id": slo.status_page.component_id, "name": slo.status_page.name}
            if slo.status_page is not None
            else {}
        ),
    )


def _tier_name(d: TierDecision) -> str:
    return f"{d.tier.severity.name} {d.tier.long}/{d.tier.short}"


def _worst_firing(evaluation: Evaluation, severity: Severity) -> TierDecision | None:
    firing = [d for d in evaluation.tiers if d.state is TierState.FIRING]
    at_severity = [d for d in firing if d.tier.severity is severity] or firing
    return max(at_severity, key=lambda d: d.long_burn_rate or 0.0, default=None)


def summary(
    slo: SLO,
    evaluation: Evaluation,
    event: Event,
    kind: Kind,
    state: EpisodeState,
    lifecycle: LifecyclePolicy,
) -> str:
    """One line an on-call engineer can act on."""
    if kind is Kind.RESOLVED:
        lasted = event.at - (state.declared_at if state.declared_at is not None else event.at)
        return (
            f"{event.slo} resolved: no burn-rate alert firing for "
            f"{human_duration(lifecycle.quiet_period_seconds)}; peak {state.peak.name}, "
            f"lasted {human_duration(lasted)}"
        )
    if kind is Kind.STALE:
        since = state.no_data_since if state.no_data_since is not None else event.at
        why = f" ({state.error})" if state.error else ""
        return (
            f"{event.slo}: evaluation stale for {human_duration(event.at - since)}{why}; the open "
            f"{state.peak.name} episode can be neither confirmed nor resolved"
        )
    parts = [f"{event.slo} {event.severity.name}"]
    tier = _worst_firing(evaluation, event.severity)
    if tier is not None and tier.long_burn_rate is not None:
        period = slo.exhaustion_period_seconds(event.at)  # a calendar month's real length
        spent = tier.long_burn_rate * tier.tier.long_seconds / period
        parts.append(
            f"burning {tier.long_burn_rate:.1f}x the error budget, "
            f"{spent:.1%} of the {slo.period} budget gone in {tier.tier.long}"
        )
    if evaluation.error_budget_remaining is not None:
        parts.append(f"{max(evaluation.error_budget_remaining, 0.0):.0%} of the budget left")
    if evaluation.time_to_exhaustion_seconds is not None:
        tte = evaluation.time_to_exhaustion_seconds
        parts.append("budget exhausted" if tte <= 0 else f"exhausted in {human_duration(tte)}")
    return ": ".join(parts[:2]) + ("" if len(parts) <= 2 else ", " + ", ".join(parts[2:]))


def slo_index(slos: Sequence[SLO]) -> dict[str, SLO]:
    return {s.name: s for s in slos}


def slo_for(index: Mapping[str, SLO], key: str) -> SLO | None:
    """The SLO an evaluation key belongs to: the name itself, or for a group of a grouped SLO
    (``name{label="value"}``, engine.group_key) the name before the brace. SLO names cannot
    hold a brace (spec NAME_RE), so one dictionary lookup decides; a key whose name is not in
    ``index`` (a removed SLO) has no owner, even when another SLO's name is a prefix of it."""
    found = index.get(key)
    if found is not None:
        return found
    name, brace, _ = key.partition("{")
    return index.get(name) if brace else None
