"""Alerting policies as files: a YAML list of tiers, validated as ``spec.alerting.tiers`` is.

``sloguard backtest --policy FILE`` replays the same history with these tiers instead of each
SLO's own. The file is either a list of tiers or a mapping with ``tiers`` (and an optional
``name``)::

    name: fast-only
    tiers:
      - {severity: SEV1, long: 1h, short: 5m, budget_percent: 2}
      - {severity: SEV2, long: 6h, short: 30m, budget_percent: 5}

Every problem is located (``FILE:LINE:COLUMN: error: ...``) and says what would be valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sloguard.errors import Location, Problem, SpecError
from sloguard.model import SLO, Tier
from sloguard.spec._build import tier_at, translate
from sloguard.spec._fields import StrictModel
from sloguard.spec._native import TierSpec
from sloguard.spec._yaml import DEFAULT_LIMITS, Doc, Path_, parse_documents, read_text


class PolicyDocument(StrictModel):
    name: str = ""
    tiers: list[TierSpec]


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """Tiers read from a policy file, each with where it was written."""

    name: str
    tiers: tuple[Tier, ...]
    locations: tuple[Location, ...]
    file: str


def read_document(path: str | Path) -> Doc:
    """The single YAML document of ``path``, with the location of every key and value."""
    file = str(path)
    text = read_text(Path(path), file, DEFAULT_LIMITS)
    if isinstance(text, Problem):
        raise SpecError(text)
    docs: list[Doc] = []
    for item in parse_documents(text, file, DEFAULT_LIMITS):
        if isinstance(item, Problem):
            raise SpecError(item)
        docs.append(item)
    if len(docs) != 1:
        raise SpecError(
            Problem(
                docs[1].start if len(docs) > 1 else Location(file, 1, 1),
                f"expected exactly one YAML document, found {len(docs)}",
            )
        )
    return docs[0]


def load_tiers(path: str | Path) -> TierPolicy:
    """Read a policy file; raises :class:`SpecError` with every located problem."""
    doc = read_document(path)
    data: Any = doc.data
    if isinstance(data, list):
        doc = Doc(doc.file, {"tiers": data}, doc.start, _nest(doc.keys), _nest(doc.values))
    elif not isinstance(data, dict):
        raise SpecError(
            Problem(doc.start, "expected a list of tiers, or a mapping with 'tiers' (and 'name')")
        )
    try:
        parsed = PolicyDocument.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(translate(exc, doc, PolicyDocument)) from None
    problems: list[Problem] = []
    tiers: list[Tier] = []
    locations: list[Location] = []
    if not parsed.tiers:
        problems.append(Problem(doc.start, "the policy has no tiers; give at least one"))
    for i, ts in enumerate(parsed.tiers):
        where: Path_ = ("tiers", i)
        tiers.append(tier_at(ts, i, where, doc, problems))
        locations.append(doc.value(where))
    if problems:
        raise SpecError(problems)
    name = parsed.name or Path(path).stem
    return TierPolicy(name, tuple(tiers), tuple(locations), doc.file)


def _nest(table: dict[Path_, Location]) -> dict[Path_, Location]:
    """Locations of a top-level list, re-rooted under ``tiers``."""
    return {("tiers", *p): loc for p, loc in table.items()}


def check_tiers(policy: TierPolicy, slos: list[SLO]) -> list[Problem]:
    """Problems of applying the policy's tiers to each SLO: a long window longer than the SLO
    period, or a threshold above a 100 % error ratio (the tier could never fire)."""
    problems: list[Problem] = []
    for i, (tier, where) in enumerate(zip(policy.tiers, policy.locations, strict=True)):
        for slo in slos:
            what = f"tier {i + 1} ({tier.severity} {tier.long}/{tier.short}) on SLO {slo.name}"
            if tier.long_seconds > slo.period_seconds or (
                slo.calendar and tier.long_seconds == slo.period_seconds
            ):
                problems.append(
                    Problem(
                        where,
                        f"{what}: the long window is longer than the SLO period {slo.period}",
                    )
                )
                continue
            factor = tier.factor(slo.period_seconds)
            if factor * slo.budget >= 1.0 - 1e-12:
                problems.append(
                    Problem(
                        where,
                        f"{what}: can never fire at objective {slo.objective_percent:g} %: it "
                        f"needs a burn rate of {factor:.4g}, an error ratio above 100 %; lower "
                        "budget_percent or use a longer long window",
                    )
                )
    return problems
