"""What ticks, deliveries and the supervisor report: one small metrics sink.

Services say what happened through :class:`MetricsSink`; :class:`sloguard.metrics.Metrics`
turns it into sloguard's Prometheus series, tests keep a fake that records the calls, and
:class:`NoMetrics` drops everything (``sloguard run --once``, benchmarks). The outcome words
are the bounded label values of those series.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol

from sloguard.burn import Evaluation
from sloguard.model import SLO, Severity


class TickOutcome(StrEnum):
    """How one evaluation tick ended: the ``outcome`` of ``sloguard_evaluations_total``."""

    SUCCESS = "success"  # every SLO evaluated (no data is a valid answer)
    PARTIAL = "partial"  # some SLOs failed to evaluate (bad query, timeout); others did
    FAILURE = "failure"  # no SLO could be evaluated (Prometheus unreachable, engine error)
    SKIPPED = "skipped"  # the previous tick still ran when this one was due

    @property
    def successful(self) -> bool:
        return self in (TickOutcome.SUCCESS, TickOutcome.PARTIAL)


class FastOutcome(StrEnum):
    """How one fast tick ended: the ``outcome`` of ``sloguard_fast_path_probes_total``."""

    BELOW = "below"  # no tripwire crossed (long window over its factor): nothing evaluated
    CROSSED = "crossed"  # some crossed: those SLOs were evaluated in full and stepped
    FAILURE = "failure"  # the check or the evaluation failed (Prometheus down, engine error)


class NotificationOutcome(StrEnum):
    """What one delivery attempt came to: the ``outcome`` of ``sloguard_notifications_total``."""

    SENT = "sent"  # the receiver accepted it
    RETRY = "retry"  # transient failure; it stays in the outbox
    DEAD_LETTER = "dead_letter"  # refused for good or out of attempts


class MetricsSink(Protocol):
    """Where the services report; every call replaces or counts, none reads back."""

    def observe_evaluations(
        self, evaluations: Sequence[Evaluation], slos_by_key: Mapping[str, SLO]
    ) -> None:
        """The complete current set of verdicts (series of keys not in it go away)."""
        ...

    def observe_tick(self, duration_seconds: float, outcome: TickOutcome, *, at: float) -> None:
        """One regular tick that ended (or was skipped) at wall-clock ``at``."""
        ...

    def observe_fast_path(self, outcome: FastOutcome | None, slos: int) -> None:
        """One fast tick (None: a regular tick) and the SLOs on the fast path after it."""
        ...

    def set_prometheus_up(self, up: bool) -> None: ...

    def set_open_episodes(self, by_severity: Mapping[Severity, int]) -> None: ...

    def set_outbox(self, pending: int, dead_letters: int) -> None: ...

    def count_notification(
        self, integration: str, outcome: NotificationOutcome, n: int = 1
    ) -> None:
        """``n`` delivery attempts of one integration (the notifier type) that came to
        ``outcome``."""
        ...

    def declare_integrations(self, integrations: Iterable[str]) -> None:
        """The integrations in use, so their series exist at 0 before the first attempt."""
        ...

    def config_reloaded(self, ok: bool, at: float) -> None: ...

    def observe_leases(self, held: int, transitions: Sequence[str]) -> None:
        """Shards held now, and the lease changes of the last claim (by reason)."""
        ...

    def count_heartbeat(self, target: str, *, ok: bool) -> None:
        """One dead man's switch ping (target: url | opsgenie)."""
        ...


class NoMetrics:
    """A sink that drops everything: for one-shot runs and benchmarks, which export nothing."""

    def observe_evaluations(
        self, evaluations: Sequence[Evaluation], slos_by_key: Mapping[str, SLO]
    ) -> None:
        pass

    def observe_tick(self, duration_seconds: float, outcome: TickOutcome, *, at: float) -> None:
        pass

    def observe_fast_path(self, outcome: FastOutcome | None, slos: int) -> None:
        pass

    def set_prometheus_up(self, up: bool) -> None:
        pass

    def set_open_episodes(self, by_severity: Mapping[Severity, int]) -> None:
        pass

    def set_outbox(self, pending: int, dead_letters: int) -> None:
        pass

    def count_notification(
        self, integration: str, outcome: NotificationOutcome, n: int = 1
    ) -> None:
        pass

    def declare_integrations(self, integrations: Iterable[str]) -> None:
        pass

    def observe_leases(self, held: int, transitions: Sequence[str]) -> None:
        pass

    def count_heartbeat(self, target: str, *, ok: bool) -> None:
        pass

    def config_reloaded(self, ok: bool, at: float) -> None:
        pass


__all__ = ["FastOutcome", "MetricsSink", "NoMetrics", "NotificationOutcome", "TickOutcome"]
