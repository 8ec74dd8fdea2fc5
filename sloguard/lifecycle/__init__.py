"""Burn episodes: one per burn of one SLO key, from declaration to resolution. Pure.

The state machine, per SLO key (an SLO, or one group of a grouped SLO)::

                 tier fires                         no tier fires
      OK  ───────────────────────▶  FIRING  ─────────────────────────▶  QUIET
       ▲        DECLARED (page)     │  ▲  higher than ever: ESCALATED     │ │
       │                            │  │  lower: DEESCALATED (no page)    │ │
       │                            │  └──────── fires again: REFIRED ◀──┘ │
       └────────────────────────────┴── clear for the quiet period: RESOLVED

* **One episode per burn.** Its id is a hash of the SLO key and the declaration time, stable
  across restarts and short enough for a PagerDuty ``dedup_key`` (≤255) or an Opsgenie
  ``alias`` (≤512).
* **Pages only go up.** A severity above the highest one already paged re-pages (ESCALATED);
  going down is recorded (DEESCALATED) and shown, never paged.
* **Resolving waits for a quiet period** (default 5 minutes of evaluation time with no tier
  firing), so a flapping SLI neither pages nor resolves in a loop: a burn that returns inside
  the quiet period continues the same episode (REFIRED).
* **No data never resolves.** NO_DATA or an evaluation error keeps the episode open; once it
  has lasted ``stale_after_seconds`` one STALE event is raised for the episode.
* **Silences** mute pages for a matching SLO; the episode is still tracked and recorded. When
  the silence ends while the SLO still burns, the page that was held back goes out. A resolve
  is sent whenever something was paged, silence or not: a silence never leaves a page open.
* **Time only moves forward.** An evaluation at or before the last one applied (a clock jump
  backwards, or the same ``--at`` run twice) changes nothing and emits nothing.
* **Impact is measured as it happens** (for the postmortem and the backtest, see
  ``_impact.track_impact``): when the burn started, the peak burn rate and the budget it
  spent, all from the *shortest* window of the SLO's tiers (the fastest to react).

No I/O, no clock: ``now`` is the pinned instant of the tick that produced the evaluation.

The package: the state and its events (``_state``), the state machine (``_machine``), the
impact measured along the way (``_impact``).
"""

from sloguard.lifecycle._impact import fastest_burn_rate
from sloguard.lifecycle._machine import full_step, is_idle, seen, step
from sloguard.lifecycle._state import (
    EPISODE_ID_PREFIX,
    EpisodeState,
    Event,
    EventKind,
    LifecyclePolicy,
    Phase,
    episode_id,
)

__all__ = [
    "EPISODE_ID_PREFIX",
    "EpisodeState",
    "Event",
    "EventKind",
    "LifecyclePolicy",
    "Phase",
    "episode_id",
    "fastest_burn_rate",
    "full_step",
    "is_idle",
    "seen",
    "step",
]
