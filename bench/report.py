"""Write docs/benchmarks.md from the results the benchmarks saved in ``.bench-results/``.

    python -m bench.report [--results .bench-results] [--out docs/benchmarks.md]

Sections whose results are missing say so (and give the command that makes them). Text that
is not a figure (how to read the numbers, what the profile showed) lives in
``bench/notes.md`` and is copied in after the figures.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

from bench import common, page

COMMANDS = {
    "cost": "python -m bench.cost --lookback 10m",
    "peer": "python -m bench.peer",
    "validate": "python -m bench.bench_validate --runs 3",
    "outbox": "python -m bench.outbox",
    "page": "python -m bench.page --runs 5",
    "page-fleet": "python -m bench.page --runs 5 --fleet 10000",
    "tick-ab": "python -m bench.tick_ab --sizes 10000,50000 --baseline TREE",
}


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _every_run(runs: list[dict[str, Any]], names: Collection[str]) -> list[str]:
    """The table of every run's seconds per pipeline, under its heading."""
    out = ["", "Every run (seconds):", "", "| run | " + " | ".join(names) + " |"]
    out.append("|---:|" + "---:|" * len(names))
    for k, r in enumerate(runs):
        out.append(f"| {k} | " + " | ".join(_s(r.get(key), 1) for key in names) + " |")
    return out


def _s(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _header(data: dict[str, Any]) -> list[str]:
    m = data["machine"]
    return [
        f"Command: `{data['command']}` (finished {data['finished']}; "
        f"{m['nproc']} cores, Python {m['python']}, {m['prometheus']}; "
        f"load average before: {m['load_before']}).",
        "",
    ]


def _missing(name: str) -> list[str]:
    return [
        f"Not measured in this report: run `{COMMANDS[name]}`, then `python -m bench.report`.",
        "",
    ]


def cost_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## Cost of one tick: direct and recorded", ""]
    if data is None:
        return out + _missing("cost")
    out += _header(data)
    out += [
        f"{data['services']} services x 2 codes = {data['series']} series, "
        f"{data['history_hours']} h of 1-minute history backfilled up to now, then scraped "
        "live every 15 s. Every SLO has the default tiers and a 30d period. Median of the "
        "steady-state ticks (the first tick, which creates every episode state, is shown as "
        "'cold'); CPU is the daemon process's own (`time.process_time`), RSS its peak "
        "(`VmHWM`), both of a fresh `bench.tick` subprocess per row.",
        "",
        "| SLOs | mode | code | queries/tick | planned (young rules) | tick wall s | tick CPU s "
        "| cold tick wall s | peak RSS MB | ticks | severities |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in data["rows"]:
        young = r["planned"]["recorded_young"] if r["mode"] == "recorded" else "-"
        sev = ", ".join(f"{k} {v}" for k, v in sorted(r["severities"].items()))
        ticks = r["ticks_measured"] if r["steady_state"] else "1 (cold only)"
        out.append(
            f"| {r['slos']:,} | {r['mode']} | {r.get('code', 'after')} | {r['queries']:,.0f} "
            f"| {young} "
            f"| {_s(r['wall_seconds'])} | {_s(r['cpu_seconds'])} "
            f"| {_s(r['cold_wall_seconds'])} | {_s(r['peak_rss_mb'], 0)} | {ticks} | {sev} |"
        )
    by = {(r["slos"], r["mode"]): r for r in data["rows"] if r.get("code", "after") == "after"}
    before = {(r["slos"], r["mode"]): r for r in data["rows"] if r.get("code") == "before"}
    if before:
        out += [
            "",
            "Before / after the profile-driven changes (same Prometheus, same run; 'before' is "
            "the tree given as `--baseline`):",
            "",
            "| SLOs | mode | tick CPU s before | after | ratio | tick wall s before | after "
            "| peak RSS MB before | after |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, b in sorted(before.items()):
            a = by.get(key)
            if a is None:
                continue
            out.append(
                f"| {key[0]:,} | {key[1]} | {_s(b['cpu_seconds'])} | {_s(a['cpu_seconds'])} "
                f"| {b['cpu_seconds'] / a['cpu_seconds']:.1f}x | {_s(b['wall_seconds'])} "
                f"| {_s(a['wall_seconds'])} | {_s(b['peak_rss_mb'], 0)} "
                f"| {_s(a['peak_rss_mb'], 0)} |"
            )
    ratios = []
    for (size, mode), r in sorted(by.items()):
        other = by.get((size, "direct"))
        if mode == "recorded" and other:
            ratios.append(
                f"| {size:,} | {other['queries'] / r['queries']:,.0f}x "
                f"| {other['wall_seconds'] / r['wall_seconds']:,.0f}x "
                f"| {other['cpu_seconds'] / r['cpu_seconds']:,.0f}x |"
            )
    if ratios:
        out += [
            "",
            "Direct / recorded, same run:",
            "",
            "| SLOs | queries | wall | CPU |",
            "|---:|---:|---:|---:|",
            *ratios,
        ]
    big = by.get((max(n for n, _ in by), "recorded")) if by else None
    if big:
        per_window = big["queries"] <= 2 + 15
        out += [
            "",
            f"Targets at {big['slos']:,} SLOs, recorded: at most one query per window per tick "
            f"({big['queries']:.0f} queries: 2 probes + 15 recorded series) "
            f"{'met' if per_window else 'NOT met'}; tick CPU under 1 s "
            f"({_s(big['cpu_seconds'])} s) {'met' if big['cpu_seconds'] < 1 else 'NOT met'}; "
            f"RSS under 200 MB ({_s(big['peak_rss_mb'], 0)} MB) "
            f"{'met' if big['peak_rss_mb'] < 200 else 'NOT met'}.",
        ]
    rules = [r for r in by.values() if "rules_ready_seconds" in r]
    if rules:
        out += [
            "",
            "Recorded rows waited for Prometheus to record every SLO's series once: "
            + ", ".join(f"{r['slos']:,} SLOs {r['rules_ready_seconds']:.0f} s" for r in rules)
            + ". Rule evaluation is Prometheus's work, not the daemon's.",
        ]
    return [*out, ""]


def profile_section(*results: dict[str, Any] | None) -> list[str]:
    """``bench.profile_tick`` results: canned answers (``--http``: as JSON through the real
    client), before and after."""
    out = ["## The daemon's own CPU per tick, Prometheus's answers canned", ""]
    if not any(results):
        return [*out, "Not measured: run `python -m bench.profile_tick`.", ""]
    out += [
        "`bench.profile_tick`: the recorded-mode tick (evaluate, step every episode, commit) "
        "with the answers of a Prometheus running the rules served from memory, so only "
        "sloguard's CPU counts. 'objects': the stand-in source hands over parsed series; "
        "'JSON': it serves Prometheus's JSON to the real client (`--http`), so decoding and "
        "parsing count too; 'all new': every recorded number new each tick (`--fresh`), "
        "otherwise the same numbers every tick. Median CPU seconds per steady-state tick:",
        "",
        "| code | answers | SLOs | tick CPU s | ticks | peak RSS MB | command |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for data in results:
        if data is None:
            continue
        ticks = ", ".join(_s(x) for x in data["tick_cpu_seconds"])
        answers = "JSON" if data.get("http") else "objects"
        answers += ", all new" if data.get("fresh") else ""
        out.append(
            f"| {data['label']} | {answers} | {data['slos']:,} | {_s(data['median'])} | {ticks} "
            f"| {_s(data['peak_rss_mb'], 0)} | `{data['command']}` |"
        )
    return [*out, ""]


_MODES = {
    "sqlite": "SQLite, objects",
    "json": "SQLite, JSON",
    "postgresql": "PostgreSQL, objects",
}


def tick_ab_section(results: Path) -> list[str]:
    """``bench.tick_ab``: the steady recorded tick, this tree against an older one (one table
    per saved run, ``tick-ab-<sizes>.json``)."""
    out = ["## The steady tick against the tree before, same run", ""]
    saved = sorted(results.glob("tick-ab-*.json"))
    if not saved:
        return out + _missing("tick-ab")
    for path in saved:
        out += _tick_ab_table(json.loads(path.read_text(encoding="utf-8")))
    return out


def _tick_ab_table(data: dict[str, Any]) -> list[str]:
    out = _header(data)
    out += [
        (
            "Every recorded number new each tick (`--fresh`). "
            if data.get("fresh")
            else "The same recorded numbers every tick. "
        )
        + "Answers canned (objects; JSON through the real client), the state in SQLite or a "
        "real PostgreSQL. Each run is a fresh subprocess per tree (this tree's bench over "
        "each tree's sloguard), the trees alternating; the "
        "figure is the median over runs of each run's median steady tick; ratio: after / "
        "before. RSS is the process's peak (SQLite rows only).",
        "",
        "| SLOs | state, answers | CPU s before | after | ratio | wall s before | after "
        "| peak RSS MB before | after | each run's CPU s: before; after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows = {(r["slos"], r["mode"], r["code"]): r for r in data["rows"]}
    for (slos, mode, code), after in rows.items():
        if code != "after":
            continue
        before = rows.get((slos, mode, "before"), {})
        ratio = after["cpu"] / before["cpu"] if before.get("cpu") else None
        runs = "; ".join(
            ", ".join(_s(r["cpu"]) for r in side.get("runs", [])) for side in (before, after)
        )
        out.append(
            f"| {slos:,} | {_MODES.get(mode, mode)} | {_s(before.get('cpu'))} "
            f"| {_s(after['cpu'])} | {_s(ratio)} | {_s(before.get('wall'))} "
            f"| {_s(after['wall'])} | {_s(before.get('rss_mb'), 0)} "
            f"| {_s(after.get('rss_mb'), 0)} | {runs} |"
        )
    return [*out, ""]


def peer_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## Peer: google's slo-generator, same SLOs, same Prometheus", ""]
    if data is None:
        return out + _missing("peer")
    out += _header(data)
    rows = data["rows"]
    recorded = bool(rows) and "recorded_median" in rows[0]
    out += [
        f"{data['slo_generator']}; both tools compute the same "
        f"{len(data['windows'])} windows per SLO. Wall time of the CLI, median of "
        f"{len(rows[0]['sloguard_seconds']) if rows else 0} alternating runs; ratio: "
        "slo-generator's time over sloguard's, same run."
        + (
            " Prometheus CPU: what the Prometheus process spent during the run (median)."
            if recorded
            else ""
        ),
        "",
    ]
    if not recorded:
        out += [
            "| SLOs | slo-generator s | sloguard evaluate s | ratio | slo-generator reports "
            "(no data) | sloguard SLOs evaluated |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            out.append(
                f"| {r['slos']:,} | {_s(r['slo_generator_median'])} | {_s(r['sloguard_median'])} "
                f"| {r['ratio']:.1f}x | {r['slo_generator_reports']:,} "
                f"({r['slo_generator_no_data']}) | {r['sloguard_evaluated']:,} |"
            )
        return [*out, ""]
    own = any("own_cpu_seconds" in r for r in rows)
    if own:
        out[-2] += (
            " CPU s: the tool's own CPU time (user + system, median), which a loaded machine"
            " moves less than the wall."
        )
    out += [
        "| SLOs | tool | wall s | ratio | Prometheus CPU s | "
        + ("CPU s | " if own else "")
        + "evaluated | each run's wall s |",
        "|---:|---|---:|---:|---:|" + ("---:|" if own else "") + "---|---|",
    ]
    for r in rows:
        cpu = r["prometheus_cpu_seconds"]
        mine = r.get("own_cpu_seconds")
        reports = f"{r['slo_generator_reports']:,} reports ({r['slo_generator_no_data']} no data)"
        for tool, median, ratio, key, done, runs in (
            ("slo-generator", r["slo_generator_median"], "1x", "sg", reports,
             r["slo_generator_seconds"]),
            ("sloguard evaluate --no-recorded", r["sloguard_median"], f"{r['ratio']:.1f}x",
             "direct", f"{r['sloguard_evaluated']:,} SLOs", r["sloguard_seconds"]),
            ("sloguard evaluate --recorded", r["recorded_median"], f"{r['recorded_ratio']:.1f}x",
             "recorded", f"{r['recorded_evaluated']:,} SLOs", r["recorded_seconds"]),
        ):  # fmt: skip
            each = ", ".join(_s(t) for t in runs)
            own_cell = (f"{_s(mine[key]) if mine else '-'} | ") if own else ""
            out.append(
                f"| {r['slos']:,} | {tool} | {_s(median)} | {ratio} | {_s(cpu[key])} | "
                f"{own_cell}{done} | {each} |"
            )
    return [*out, ""]


def validate_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## `sloguard validate` on 10,000 SLOs", ""]
    if data is None:
        return out + _missing("validate")
    out += _header(data)
    out += [
        f"{data['slos']:,} SLOs in {data['files']} files: median {_s(data['median_seconds'])} s "
        f"over {len(data['seconds'])} runs ({', '.join(_s(s) for s in data['seconds'])}); "
        f"exit status {data['exit']}. Process start to exit, as CI runs it.",
        "",
    ]
    return out


def outbox_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## Outbox drain", ""]
    if data is None:
        return out + _missing("outbox")
    out += _header(data)
    out += [
        "| receiver | code | notifications | concurrency | per second (median) | runs "
        "| drain CPU ms per notification | all accepted |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    for r in data["rows"]:
        runs = ", ".join(f"{x['per_second']:.0f}" for x in r["runs"])
        cpu = r.get("median_cpu_ms_per_notification")
        out.append(
            f"| {r['receiver']} | {r.get('code', 'after')} | {r['notifications']:,} "
            f"| {r['concurrency']} | {r['median_per_second']:.0f} | {runs} "
            f"| {'' if cpu is None else f'{cpu:.2f}'} | {'yes' if r['all_delivered'] else 'NO'} |"
        )
    return [*out, ""]


def page_section(data: dict[str, Any] | None) -> list[str]:
    out = ["## Time to page (the headline)", ""]
    if data is None:
        return out + _missing("page")
    out += _header(data)
    s = data["summary"]
    names = {k: v for k, v in page.LABELS.items() if k in s}
    out += [
        f"Outage start to the first page at the receiver, {len(data['runs'])} runs "
        f"(the math allows {data['math_seconds']:.1f} s).",
        "",
        "| pipeline | median s | worst s | best s | paged | median / A |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    a = s["A"]["median_seconds"]
    for key, label in names.items():
        if key not in s:
            continue
        row = s[key]
        ratio = row["median_seconds"] / a if a and row["median_seconds"] else None
        out.append(
            f"| {label} | {_s(row['median_seconds'], 1)} | {_s(row['worst_seconds'], 1)} "
            f"| {_s(row['best_seconds'], 1)} | {row['paged']}/{len(data['runs'])} "
            f"| {_s(ratio)} |"
        )
    out += _every_run(data["runs"], names)
    math_s = data["math_seconds"]
    verdicts = []
    for key in [k for k in names if k != "A"]:
        if key not in s or not a or not s[key]["median_seconds"]:
            continue
        med, worst = s[key]["median_seconds"], s[key]["worst_seconds"]
        half = "met" if med <= a / 2 else "NOT met"
        near = "met" if med <= math_s + 30 else "NOT met"
        near_worst = "met" if worst <= math_s + 30 else "NOT met"
        verdicts.append(
            f"| {key} | {med / a:.2f}x ({half}) | +{med - math_s:.1f} s ({near}) "
            f"| +{worst - math_s:.1f} s ({near_worst}) |"
        )
    if verdicts:
        out += [
            "",
            f"Targets: at most half of A's median; within 30 s of the {math_s:.1f} s the math "
            "allows.",
            "",
            "| pipeline | median / A | median - math | worst - math |",
            "|---|---:|---:|---:|",
            *verdicts,
        ]
    return [*out, ""]


GROUP_KINDS = (
    ("fast", "fast (SEV1 short window)"),
    ("slow", "slow (6h+ windows, period, meta)"),
    ("other", "the others"),
)


def page_fleet_section(data: dict[str, Any] | None) -> list[str]:
    """Time to page with a fleet of healthy SLOs in the same Prometheus (``--fleet``), and what
    their rule groups cost Prometheus."""
    out = ["## Time to page at 10,000 SLOs", ""]
    if data is None:
        return out + _missing("page-fleet")
    out += _header(data)
    s, math_s, n = data["summary"], data["math_seconds"], len(data["runs"])
    names = {k: v for k, v in page.LABELS.items() if k in s}
    out += [
        f"{data['fleet']:,} healthy SLOs loaded beside the outage SLOs, their rules (the SEV1 "
        f"short window in fast groups every {data['fast_interval']}, the 6h+ windows, the "
        f"period and the meta series every {data.get('slow_interval') or '1m'}, the rest "
        "every 1m) "
        "evaluated by "
        f"the same Prometheus; every SLO recorded once after {data['rules_ready_seconds']:.0f} s. "
        f"Outage start to the first page, {n} runs (the math allows {math_s:.1f} s; the target "
        f"is the worst run within 15 s of it, {math_s + 15:.1f} s). Load average when the "
        f"benchmark started: {data['load_at_start']}.",
        "",
        "| pipeline | median s | worst s | best s | paged | worst - math |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in names.items():
        row = s[key]
        worst = row["worst_seconds"]
        verdict = (
            "no page within the run's timeout" if worst is None else f"+{worst - math_s:.1f} s"
        )
        if key != "A" and worst is not None:
            verdict += " (met)" if worst <= math_s + 15 else " (NOT met)"
        out.append(
            f"| {label} | {_s(row['median_seconds'], 1)} | {_s(worst, 1)} "
            f"| {_s(row['best_seconds'], 1)} | {row['paged']}/{n} | {verdict} |"
        )
    out += _every_run(data["runs"], names)
    groups = data.get("rule_groups") or {}
    if groups:
        out += [
            "",
            "Prometheus' rule groups at the end (`prometheus_rule_group_last_duration_seconds`, "
            "`prometheus_rule_group_iterations_missed_total`):",
            "",
            "| groups | count | median s | p99 s | max s | iterations scheduled | missed |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, label in GROUP_KINDS:
            g = groups.get(kind)
            if not g or not g["groups"]:
                continue
            out.append(
                f"| {label} | {g['groups']:,} | {_s(g['median_seconds'], 4)} "
                f"| {_s(g['p99_seconds'], 4)} | {_s(g['max_seconds'], 3)} "
                f"| {g['iterations']:,.0f} "
                f"| {g['missed_iterations']:,.0f} |"
            )
    during = groups.get("during_runs")
    if during:
        out += [
            "",
            f"During the runs ({during['seconds']:.0f} s):",
            "",
            "| groups | rule evaluations/s | iterations/s | missed/s | missed share |",
            "|---|---:|---:|---:|---:|",
        ]
        for kind, label in GROUP_KINDS:
            d = during.get(kind)
            if not d:
                continue
            out.append(
                f"| {label} | {d['rule_evaluations_per_second']:,.0f} "
                f"| {d['iterations_per_second']:,.1f} | {d['missed_per_second']:,.1f} "
                f"| {_s(d['missed_share'])} |"
            )
    age = groups.get("recorded_5m_age_seconds")
    if age:
        out += [
            "",
            f"Age of the recorded 5m series at the end: {_s(age['avg'], 0)} s on average, "
            f"{_s(age['max'], 0)} s at most (the fast group's interval is "
            f"{data['fast_interval']}).",
        ]
    return [*out, ""]


def render(results: Path) -> str:
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.report` from the results in "
        "`.bench-results/`). Every figure names the command that made it and the machine it "
        "ran on; figures are medians of several runs, and ratios compare figures of the same "
        "run. The machine is shared with other work, so wall times carry noise; CPU times "
        "and query counts do not.",
        "",
    ]
    out += page_section(_load(results, "page"))
    out += page_fleet_section(_load(results, "page-fleet"))
    out += cost_section(_load(results, "cost"))
    out += profile_section(
        *(
            _load(results, f"profile-{name}")
            for name in (
                "before",
                "after",
                "before-http",
                "after-http",
                "after-fresh",
                "after-http-fresh",
            )
        )
    )
    out += tick_ab_section(results)
    out += peer_section(_load(results, "peer"))
    out += validate_section(_load(results, "validate"))
    out += outbox_section(_load(results, "outbox"))
    notes = Path(__file__).with_name("notes.md")
    if notes.exists():
        out += [notes.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=common.RESULTS)
    parser.add_argument("--out", type=Path, default=common.ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    args.out.write_text(render(args.results), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
