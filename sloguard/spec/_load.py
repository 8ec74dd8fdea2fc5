"""Find SLO files, read every document, route it by its version field, check names are unique.

Routing (the first field that matches wins):

    apiVersion: sloguard/v1                      native          (sloguard.spec._native)
    version: prometheus/v1                       Sloth           (sloguard.spec._sloth)
    apiVersion: sloth.slok.dev/v1                Sloth CRD       (kind PrometheusServiceLevel)
    apiVersion: openslo/v1 | openslo/v1alpha     OpenSLO         (sloguard.spec._openslo)
    apiVersion: pyrra.dev/v1alpha1               Pyrra           (kind ServiceLevelObjective)

Every format becomes native-shaped documents first (that is what ``sloguard import`` writes), and
one schema and one set of checks build the :class:`SLO` objects from them.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sloguard.errors import Location, Problem, SpecError
from sloguard.model import SLO
from sloguard.spec import _openslo, _pyrra, _sloth
from sloguard.spec._build import build, describe
from sloguard.spec._native import API_VERSION
from sloguard.spec._yaml import DEFAULT_LIMITS, Doc, Limits, parse_documents, read_text

SUFFIXES = (".yaml", ".yml")
KNOWN_VERSIONS = (
    f"apiVersion: {API_VERSION}",
    f"version: {_sloth.PROM_VERSION}",
    f"apiVersion: {_sloth.K8S_API_VERSION}",
    f"apiVersion: {_openslo.V1}",
    f"apiVersion: {_openslo.V1ALPHA}",
    f"apiVersion: {_pyrra.API}",
)


@dataclass(slots=True)
class Draft:
    """One native-shaped document on its way to an SLO, and what its conversion could not keep."""

    doc: Doc
    origin: str  # "sloguard/v1", "prometheus/v1", "sloth.slok.dev/v1", "openslo/v1", ...
    warnings: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class LoadResult:
    """What :func:`load` found: the valid SLOs, the errors, and warnings that do not fail."""

    slos: list[SLO] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Documents read, by "<apiVersion or version> <kind>", so a command can say what it found.
    found: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given, and ``*.yaml``/``*.yml`` under directories (recursively, sorted).

    A path that does not exist raises :class:`SpecError` naming it.
    """
    found: list[Path] = []
    missing: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / f for f in sorted(files) if f.lower().endswith(SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            missing.append(Problem(Location(str(path)), "no such file or directory"))
    if missing:
        raise SpecError(missing)
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def load(
    paths: Sequence[str | Path],
    *,
    limits: Limits = DEFAULT_LIMITS,
    check_duplicates: bool = True,
    keep_drafts: bool = True,
) -> LoadResult:
    """Read every SLO under ``paths``. Never raises for bad input: problems are returned.

    ``check_duplicates=False`` mirrors Sloth's ``--ignore-slo-duplicates``. Without
    ``keep_drafts`` the drafts (the parsed YAML, with every node's position) are built into
    SLOs file by file and dropped, not kept in ``result.drafts``: at 10,000 SLOs holding them
    all at once took some 80 MB that the process then kept.
    """
    result = LoadResult()
    try:
        result.files = discover(paths)
    except SpecError as exc:
        result.problems.extend(exc.problems)
        return result
    openslo_docs: list[Doc] = []
    named: list[tuple[SLO, Location]] = []
    for path in result.files:
        _read_file(path, limits, result, openslo_docs)
        if not keep_drafts:
            _build_all(result.drafts, result, named)
            result.drafts.clear()
    if openslo_docs:
        drafts, problems, warnings = _openslo.convert(openslo_docs)
        result.drafts.extend(drafts_from(drafts))
        result.problems.extend(problems)
        result.warnings.extend(warnings)
    _build_all(result.drafts, result, named)
    if not keep_drafts:
        result.drafts.clear()
    if check_duplicates:
        result.problems.extend(_duplicates(named))
    result.problems.sort(key=_order)
    result.warnings.sort(key=_order)
    return result


def _build_all(
    drafts: Sequence[Draft], result: LoadResult, named: list[tuple[SLO, Location]]
) -> None:
    for draft in drafts:
        slo, problems = build(draft.doc)
        result.problems.extend(problems)
        if draft.origin == API_VERSION:
            result.warnings.extend(draft.warnings)
        if slo is not None:
            result.slos.append(slo)
            named.append((slo, draft.doc.key(("metadata", "name"))))


def load_slos(paths: Sequence[str | Path], *, limits: Limits = DEFAULT_LIMITS) -> list[SLO]:
    """Every SLO under ``paths``; raises :class:`SpecError` with all located problems."""
    result = load(paths, limits=limits, keep_drafts=False)
    if result.problems:
        raise SpecError(result.problems)
    return result.slos


def drafts_from(items: Iterable[tuple[Doc, str, list[Problem]]]) -> list[Draft]:
    return [Draft(doc, origin, warnings) for doc, origin, warnings in items]


def _order(p: Problem) -> tuple[str, int, int]:
    return (p.location.file, p.location.line, p.location.column)


def _read_file(path: Path, limits: Limits, result: LoadResult, openslo: list[Doc]) -> None:
    file = str(path)
    text = read_text(path, file, limits)
    if isinstance(text, Problem):
        result.problems.append(text)
        return
    for item in parse_documents(text, file, limits):
        if isinstance(item, Problem):
            result.problems.append(item)
            continue
        if isinstance(item.data, list):  # OpenSLO/oslo style: a list of objects
            for i in range(len(item.data)):
                _route(item.sub((i,)), result, openslo)
        else:
            _route(item, result, openslo)


def _route(doc: Doc, result: LoadResult, openslo: list[Doc]) -> None:
    data = doc.data
    if not isinstance(data, dict):
        # A file that is not YAML mappings at all may be anything (a key, a passwd file that
        # a path pointed at by mistake): say what it is, never echo its text.
        got = "a text line" if isinstance(data, str) else describe(data)
        result.problems.append(
            Problem(
                doc.start, f"expected an SLO document (a mapping), got {got}; is this an SLO file?"
            )
        )
        return
    api = data.get("apiVersion")
    version = data.get("version")
    what = " ".join(str(v) for v in (api or version, data.get("kind")) if v is not None)
    result.found[what or "unversioned"] = result.found.get(what or "unversioned", 0) + 1
    if api == API_VERSION:
        result.drafts.append(Draft(doc, API_VERSION))
    elif version is not None and api is None:
        drafts, problems, warnings = _sloth.convert_prometheus(doc)
        result.drafts.extend(drafts_from(drafts))
        result.problems.extend(problems)
        result.warnings.extend(warnings)
    elif api in (_sloth.K8S_API_VERSION, _pyrra.API):
        convert = _sloth.convert_k8s if api == _sloth.K8S_API_VERSION else _pyrra.convert
        drafts, problems, warnings = convert(doc)
        result.drafts.extend(drafts_from(drafts))
        result.problems.extend(problems)
        result.warnings.extend(warnings)
    elif isinstance(api, str) and api.startswith(("openslo/", "openslo.com/")):
        openslo.append(doc)
    else:
        result.problems.append(_unknown(doc))


def _unknown(doc: Doc) -> Problem:
    data = doc.data
    known = ", ".join(KNOWN_VERSIONS)
    if "apiVersion" in data:
        return Problem(
            doc.key(("apiVersion",)),
            f"unknown apiVersion {data['apiVersion']!r}; sloguard reads {known}",
            "apiVersion",
        )
    close = [
        k
        for k in data
        if isinstance(k, str) and difflib.get_close_matches(k, ["apiVersion", "version"], 1, 0.7)
    ]
    if close:
        return Problem(
            doc.key((close[0],)),
            f"unknown field {close[0]!r}; did you mean 'apiVersion'? sloguard reads {known}",
            close[0],
        )
    return Problem(doc.start, f"not an SLO document: no apiVersion; sloguard reads {known}")


def _duplicates(named: list[tuple[SLO, Location]]) -> list[Problem]:
    first: dict[str, Location] = {}
    problems = []
    for slo, loc in named:
        seen = first.get(slo.name)
        if seen is None:
            first[slo.name] = loc
            continue
        problems.append(
            Problem(
                loc,
                f"duplicate SLO name {slo.name!r}: already defined at {seen}; "
                "SLO names must be unique across all files",
                "metadata.name",
            )
        )
    return problems
