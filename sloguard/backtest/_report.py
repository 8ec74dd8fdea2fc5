"""A backtest's result as JSON (for scripts), a table (for people) or Markdown (for a review)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sloguard.backtest._model import Episode, Result
from sloguard.backtest._score import Score, stats
from sloguard.burn import burn_rate_text
from sloguard.durations import human_duration, iso_time
from sloguard.model import Severity


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def episode_json(e: Episode) -> dict[str, Any]:
    return {
        "policy": e.policy,
        "slo": e.slo,
        "slo_name": e.slo_name,
        "episode_id": e.episode_id,
        "burn_started_at": iso_time(e.burn_started_at),
        "started_before_range": e.started_before_range,
        "declared_at": iso_time(e.declared_at),
        "time_to_declare_seconds": e.time_to_declare_seconds,
        "severity_max": e.severity_max.name,
        "severities": [{"at": iso_time(c.at), "severity": c.severity.name} for c in e.severities],
        "resolved_at": iso_time(e.resolved_at) if e.resolved_at is not None else None,
        "duration_seconds": (
            e.resolved_at - e.burn_started_at if e.resolved_at is not None else None
        ),
        "peak_burn_rate": _num(e.peak_burn_rate),
        "burn_window": e.burn_window,
        "budget_consumed": _num(e.budget_consumed),
        "budget_remaining": _num(e.budget_remaining),
        "pages": e.pages,
        "events": [
            {
                "at": iso_time(ev.at),
                "kind": ev.kind.value,
                "severity": ev.severity.name,
                "paged": ev.notify,
            }
            for ev in e.events
        ],
    }


def policy_summary(result: Result, name: str, score: Score | None) -> dict[str, Any]:
    episodes = [e for e in result.episodes if e.policy == name]
    by_severity = {s.name: 0 for s in (Severity.SEV1, Severity.SEV2, Severity.SEV3)}
    for e in episodes:
        by_severity[e.severity_max.name] += 1
    out: dict[str, Any] = {
        "name": name,
        "episodes": len(episodes),
        "pages": sum(e.pages for e in episodes),
        "by_severity_max": by_severity,
        "open_at_end": sum(1 for e in episodes if e.resolved_at is None),
        "time_to_declare_seconds": stats([e.time_to_declare_seconds for e in episodes]),
        "budget_consumed_total": sum(e.budget_consumed for e in episodes),
    }
    if score is not None:
        out.update(
            {
                "incidents": score.incidents,
                "detected": score.detected,
                "matched_episodes": score.matched_episodes,
                "precision": score.precision,
                "recall": score.recall,
                "detection_delay_seconds": stats(score.delays()),
                "reset_time_seconds": stats(score.resets()),
                "matches": [
                    {
                        "incident": m.incident.label,
                        "slo": m.incident.slo,
                        "start": iso_time(m.incident.start),
                        "end": iso_time(m.incident.end),
                        "detected": m.detected,
                        "episodes": list(m.episodes),
                        "detection_delay_seconds": m.detection_delay_seconds,
                        "reset_time_seconds": m.reset_time_seconds,
                    }
                    for m in score.matches
                ],
            }
        )
    return out


def result_json(result: Result, scores: Sequence[Score] | None = None) -> dict[str, Any]:
    """The whole result; ``scores`` from :func:`sloguard.backtest.score` when incidents given."""
    o = result.options
    by_policy = {s.policy: s for s in scores or ()}
    ignored = scores[0].ignored if scores else ()
    return {
        "range": {
            "from": iso_time(o.start),
            "to": iso_time(o.end),
            "step_seconds": o.step,
            "steps": o.steps,
            "budget_step_seconds": result.budget_step,
        },
        "policies": [
            {
                "name": p.name,
                "source": p.source or None,
                "tiers": None
                if p.tiers is None
                else [
                    {
                        "severity": t.severity.name,
                        "long": t.long,
                        "short": t.short,
                        "budget_percent": t.budget_percent,
                    }
                    for t in p.tiers
                ],
            }
            for p in result.policies
        ],
        "episodes": [episode_json(e) for e in result.episodes],
        "summary": {
            "slos": [s.name for s in result.slos],
            "range_queries": result.requests,
            "errors": [{"message": m, "steps": n} for m, n in sorted(result.errors.items())],
            "incidents_outside_range": [i.label for i in ignored],
            "policies": [
                policy_summary(result, p.name, by_policy.get(p.name)) for p in result.policies
            ],
        },
    }


# --------------------------------------------------------------------------- text


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _dur(value: float | None) -> str:
    return (
        "-"
        if value is None
        else human_duration(value, units=4)
        if value >= 0
        else "-" + human_duration(-value, units=4)
    )


def _episode_row(e: Episode) -> list[str]:
    changes = " ".join(c.severity.name for c in e.severities)
    return [
        e.slo,
        iso_time(e.declared_at),
        e.severity_max.name,
        changes,
        iso_time(e.resolved_at) if e.resolved_at is not None else "open",
        ("≤" if e.started_before_range else "") + _dur(e.time_to_declare_seconds),
        f"{burn_rate_text(e.peak_burn_rate)} ({e.burn_window})",
        _pct(e.budget_consumed),
    ]


EPISODE_HEAD = [
    "SLO",
    "DECLARED",
    "MAX",
    "SEVERITIES",
    "RESOLVED",
    "TO DECLARE",
    "PEAK BURN",
    "BUDGET USED",
]
SCORE_HEAD = [
    "POLICY",
    "EPISODES",
    "PAGES",
    "PRECISION",
    "RECALL",
    "DETECTION (median)",
    "RESET (median)",
]


def _score_row(result: Result, name: str, score: Score) -> list[str]:
    pages = sum(e.pages for e in result.episodes if e.policy == name)
    return [
        name,
        str(score.episodes),
        str(pages),
        _pct(score.precision),
        _pct(score.recall),
        _dur(stats(score.delays())["median"]),
        _dur(stats(score.resets())["median"]),
    ]


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]


def _markdown(head: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(head), "|" + "---|" * len(head), *(line(r) for r in rows)]


def render_text(result: Result, scores: Sequence[Score] | None, *, markdown: bool) -> str:
    o = result.options
    table = _markdown if markdown else _table
    out: list[str] = []
    title = (
        f"Backtest of {len(result.slos)} SLO(s) from {iso_time(o.start)} to {iso_time(o.end)} "
        f"every {human_duration(o.step, units=4)} "
        f"({o.steps} steps, {result.requests} range queries)"
    )
    out += [f"# {title}", ""] if markdown else [title, ""]
    for policy in result.policies:
        episodes = [e for e in result.episodes if e.policy == policy.name]
        what = "each SLO's own tiers" if policy.tiers is None else policy.source or "tiers"
        head = f"policy {policy.name} ({what}): {len(episodes)} episode(s)"
        out += [f"## {head}", ""] if markdown else [head]
        if episodes:
            out += table(EPISODE_HEAD, [_episode_row(e) for e in episodes])
        out.append("")
    if scores:
        out += ["## Against known incidents", ""] if markdown else ["against known incidents:"]
        out += table(SCORE_HEAD, [_score_row(result, s.policy, s) for s in scores])
        for s in scores:
            missed = [m.incident.label for m in s.matches if not m.detected]
            if missed:
                out.append(f"{'- ' if markdown else '  '}{s.policy} missed: {', '.join(missed)}")
        if scores[0].ignored:
            labels = ", ".join(i.label for i in scores[0].ignored)
            out.append(f"{'- ' if markdown else '  '}outside the range, not scored: {labels}")
        out.append("")
    if result.errors:
        out += ["## Errors", ""] if markdown else ["errors (those steps count as no data):"]
        for message, steps in sorted(result.errors.items()):
            out.append(f"{'- ' if markdown else '  '}{message} ({steps} steps)")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
