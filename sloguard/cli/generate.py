"""``sloguard generate``: SLO definitions -> Prometheus rule files (or PrometheusRule manifests)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from sloguard.cli._durations import duration_or_off
from sloguard.errors import SloguardError, SpecError
from sloguard.model import SLO
from sloguard.rules import (
    FAST_INTERVAL_SECONDS,
    HEADER_MARK,
    SLOW_INTERVAL_SECONDS,
    calendar_notes,
    render_prometheusrule,
    render_rules,
    rule_groups,
)
from sloguard.spec import load_slos

SUFFIX = {"rules": ".rules.yml", "prometheusrule": ".prometheusrule.yaml"}


@dataclass(frozen=True, slots=True)
class Output:
    path: Path  # relative to the output directory
    text: str


def _relative_stem(source: Path, inputs: Sequence[Path]) -> Path:
    """Where an input file's rules go: its path below the directory argument that found it,
    or its bare name when it was named directly."""
    resolved = source.resolve()
    for given in inputs:
        if given.is_dir():
            try:
                return resolved.relative_to(given.resolve()).with_suffix("")
            except ValueError:
                continue
    return Path(source.name).with_suffix("")


def plan(
    slos: Sequence[SLO],
    inputs: Sequence[Path],
    *,
    fmt: str,
    split: str,
    namespace: str = "",
    k8s_labels: dict[str, str] | None = None,
    fast_interval_seconds: int = FAST_INTERVAL_SECONDS,
    slow_interval_seconds: int = SLOW_INTERVAL_SECONDS,
) -> list[Output]:
    """Every output file and its text, sorted by path. Raises ValueError on colliding outputs."""
    buckets: dict[Path, list[SLO]] = {}
    sources: dict[Path, set[str]] = {}
    for slo in slos:
        if split == "service":
            key = Path(slo.service)
        else:
            key = _relative_stem(Path(slo.source.file), inputs)
        buckets.setdefault(key, []).append(slo)
        sources.setdefault(key, set()).add(slo.source.file)
    outputs = []
    for key in sorted(buckets):
        if split == "file" and len(sources[key]) > 1:
            names = ", ".join(sorted(sources[key]))
            raise ValueError(
                f"{names} would all be written to {key}{SUFFIX[fmt]}; "
                "pass their directory instead, or use --split service"
            )
        source = ", ".join(sorted(sources[key]))
        groups = rule_groups(
            buckets[key],
            fast_interval_seconds=fast_interval_seconds,
            slow_interval_seconds=slow_interval_seconds,
        )
        if fmt == "prometheusrule":
            text = render_prometheusrule(
                groups,
                source,
                name=f"sloguard-{key.as_posix()}",
                namespace=namespace or _namespace(buckets[key], f"{key}{SUFFIX[fmt]}"),
                labels=_k8s_labels(buckets[key]) | (k8s_labels or {}),
                notes=calendar_notes(buckets[key]),
            )
        else:
            text = render_rules(groups, source, calendar_notes(buckets[key]))
        outputs.append(Output(Path(f"{key.as_posix()}{SUFFIX[fmt]}"), text))
    return outputs


def _namespace(slos: Sequence[SLO], output: str) -> str:
    """The one namespace the SLOs of a manifest name (e.g. a Sloth CRD's), or none."""
    found = sorted({s.namespace for s in slos if s.namespace})
    if len(found) > 1:
        raise ValueError(
            f"the SLOs written to {output} are in namespaces {', '.join(found)}; "
            "pass --namespace, or split them into one file per namespace"
        )
    return found[0] if found else ""


def _k8s_labels(slos: Sequence[SLO]) -> dict[str, str]:
    """The object labels of a manifest: those of its SLOs (options given on the command win)."""
    out: dict[str, str] = {}
    for slo in slos:
        out.update(slo.k8s_labels)
    return out


def _generated_files(directory: Path) -> set[Path]:
    """Files below ``directory`` that sloguard wrote (they start with its header)."""
    found: set[Path] = set()
    if not directory.is_dir():
        return found
    for path in directory.rglob("*"):
        if path.suffix in (".yml", ".yaml") and path.is_file():
            with path.open(encoding="utf-8", errors="replace") as fh:
                if fh.readline().startswith(HEADER_MARK):
                    found.add(path.relative_to(directory))
    return found


FAST_INTERVAL_MAX_SECONDS = 300
SLOW_INTERVAL_MAX_SECONDS = 240
"""Below Prometheus' 5m lookback: a series recorded less often drops out of instant queries
between two evaluations, and the daemon would read those SLOs directly."""


def _parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--k8s-label")
        out[key] = value
    return out


@click.command("generate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the rule files to (created if missing).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["rules", "prometheusrule"]),
    default="rules",
    show_default=True,
    help="rules: Prometheus rule files for rule_files:. prometheusrule: prometheus-operator "
    "PrometheusRule manifests (monitoring.coreos.com/v1).",
)
@click.option(
    "--split",
    type=click.Choice(["file", "service"]),
    default="file",
    show_default=True,
    help="One output file per input file (same relative path, new suffix), or one per service.",
)
@click.option("--namespace", default="", help="metadata.namespace of PrometheusRule manifests.")
@click.option(
    "--k8s-label",
    "k8s_labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Extra metadata.labels of PrometheusRule manifests (e.g. for the operator's "
    "ruleSelector). Repeatable.",
)
@click.option(
    "--fast-interval",
    "fast_interval_seconds",
    default=f"{FAST_INTERVAL_SECONDS}s",
    show_default=True,
    callback=duration_or_off(
        off="(off)", most_seconds=FAST_INTERVAL_MAX_SECONDS, why="the 5m window it speeds up"
    ),
    metavar="DURATION",
    help="Evaluation interval of each SLO's fast group: the recording rules of its SEV1 tier's "
    "short window (5m by default), which decides how soon a fast burn pages when sloguard "
    "reads recorded series. Up to 5m; 0 or off: no fast group, every window at Prometheus' "
    "global evaluation_interval.",
)
@click.option(
    "--slow-interval",
    "slow_interval_seconds",
    default=f"{SLOW_INTERVAL_SECONDS}s",
    show_default=True,
    callback=duration_or_off(
        off="(off)",
        most_seconds=SLOW_INTERVAL_MAX_SECONDS,
        why="Prometheus' 5m lookback allows (a series recorded less often vanishes between)",
    ),
    metavar="DURATION",
    help="Evaluation interval of each SLO's slow group (its windows of 6h and more, and the "
    "period) and of its meta group: no page waits on them, and fewer evaluations let a "
    "Prometheus keep up with a large fleet. Up to 4m (inside Prometheus' 5m lookback); 0 or "
    "off: both at the global evaluation_interval.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when any file in the output directory is missing, differs, "
    "or was generated from an input that no longer exists. For CI.",
)
def generate(
    paths: tuple[Path, ...],
    out_dir: Path,
    fmt: str,
    split: str,
    namespace: str,
    k8s_labels: tuple[str, ...],
    fast_interval_seconds: int,
    slow_interval_seconds: int,
    check: bool,
) -> None:
    """Generate Prometheus recording and alerting rules from SLO definitions.

    PATHS are SLO files or directories (searched recursively for *.yaml / *.yml): native
    sloguard/v1, Sloth and OpenSLO specs. For every SLO the output holds

    \b
      - recording rules slo:sli_error:ratio_rate<window> for every window its tiers use and its
        period, with Sloth's labels (sloth_id, sloth_service, sloth_slo, sloth_window), so
        Sloth's Grafana dashboards work unchanged; the SEV1 tier's short window in a group of
        its own, evaluated every --fast-interval, the windows of 6h and more and the period
        in one evaluated every --slow-interval;
      - the meta series (slo:objective:ratio, slo:period_error_budget_remaining:ratio, ...);
      - one alert SLOErrorBudgetBurn per severity (severity=SEV1|SEV2|SEV3), firing when both
        windows of a tier burn faster than its factor; spec.alerting's name, labels and
        annotations (all, page or ticket) rename and label it, and spec.alerting.absent adds
        an absent() alert (Pyrra's).

    Examples:

    \b
      sloguard generate slo_definitions/ -o alert_rules/
      sloguard generate slo_definitions/ -o alert_rules/ --check      # in CI
      sloguard generate slos/ -o deploy/rules --format prometheusrule --k8s-label release=prom

    Load the plain files with rule_files: in prometheus.yml; apply the PrometheusRule files
    with kubectl. See docs/rules.md.
    """
    try:
        slos = load_slos(list(paths))
        outputs = plan(
            slos,
            list(paths),
            fmt=fmt,
            split=split,
            namespace=namespace,
            k8s_labels=_parse_labels(k8s_labels),
            fast_interval_seconds=fast_interval_seconds,
            slow_interval_seconds=slow_interval_seconds,
        )
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except (SloguardError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)

    expected = {o.path for o in outputs}
    orphans = sorted(_generated_files(out_dir) - expected)
    stale = []
    for output in outputs:
        target = out_dir / output.path
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == output.text:
            continue
        stale.append((target, "missing" if current is None else "out of date"))
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(output.text, encoding="utf-8")

    command = "sloguard generate " + " ".join(str(p) for p in paths) + f" -o {out_dir}"
    if fast_interval_seconds != FAST_INTERVAL_SECONDS:
        command += f" --fast-interval {fast_interval_seconds}s"
    if slow_interval_seconds != SLOW_INTERVAL_SECONDS:
        command += f" --slow-interval {slow_interval_seconds}s"
    if check:
        for target, why in stale:
            click.echo(f"{target}: error: {why}", err=True)
        for orphan in orphans:
            click.echo(
                f"{out_dir / orphan}: error: generated from an input that no longer "
                "produces it; delete it",
                err=True,
            )
        if stale or orphans:
            click.echo(f"rules are stale: run `{command}`", err=True)
            sys.exit(1)
        click.echo(f"{len(outputs)} rule file(s) in {out_dir} are up to date")
        return
    for orphan in orphans:
        click.echo(
            f"{out_dir / orphan}: warning: no input produces this file any more; delete it",
            err=True,
        )
    click.echo(
        f"wrote {len(stale)} of {len(outputs)} rule file(s) to {out_dir} "
        f"({len(slos)} SLOs; {len(outputs) - len(stale)} unchanged)"
    )
