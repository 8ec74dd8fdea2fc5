"""Reading a configuration file: located YAML, relative paths, and the checks across fields."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from sloguard.config._models import BUDGET_NOTIFIER_TYPES, DaemonConfig
from sloguard.errors import ConfigError, Location, Problem
from sloguard.notify import NotifierConfig
from sloguard.spec import DEFAULT_LIMITS, Doc, parse_documents, read_text


class _Located:
    """Where each path of the config document sits, for messages: the spec's located reader
    (:class:`sloguard.spec.Doc`), told to skip the tags pydantic adds to paths for unions."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc

    def _real(self, path: Sequence[str | int]) -> tuple[str | int, ...]:
        # Keep the parts that are in the file, and the last one (a missing field); drop the
        # tags pydantic adds for unions (e.g. "pagerduty" in notifiers[0].pagerduty.url).
        real: tuple[str | int, ...] = ()
        for i, part in enumerate(path):
            if self.doc.get((*real, part), _ABSENT) is not _ABSENT or i == len(path) - 1:
                real = (*real, part)
        return real

    def at(self, path: Sequence[str | int]) -> Location:
        """The location of ``path``, or of its nearest ancestor present in the file."""
        return self.doc.key(self._real(path))

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        real = self._real(path)
        name = self.doc.display(real)
        return Problem(self.doc.key(real), f"{name or '(top level)'}: {message}", name)


_ABSENT = object()


def _resolve_paths(data: Any, base: Path) -> Any:
    """Resolve relative ``slo_paths``, ``state_path`` and ``*_file`` values against ``base``."""

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(base / value)
        return value

    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            if key == "slo_paths" and isinstance(value, list):
                out[key] = [fix(v) for v in value]
            elif isinstance(key, str) and (key == "state_path" or key.endswith("_file")):
                out[key] = fix(value)
            else:
                out[key] = _resolve_paths(value, base)
        return out
    if isinstance(data, list):
        return [_resolve_paths(v, base) for v in data]
    return data


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against docs/config.md"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        return f"unknown type {ctx.get('tag')!r}; valid types: {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "missing 'type' (e.g. pagerduty, opsgenie, webhook, slack)"
    return re.sub(r"^Value error, ", "", str(error.get("msg", "invalid value")))


def parse_config(text: str, file: str = "<config>", *, base: Path | None = None) -> DaemonConfig:
    """Validate config text; ``base`` is the directory relative paths are resolved against."""
    doc = _document(text, file)
    data = doc.data
    located = _Located(doc)
    if not isinstance(data, dict):
        raise ConfigError(
            located.problem((), "the config must be a mapping with prometheus, slo_paths, ...")
        )
    if base is not None:
        data = _resolve_paths(data, base)
    try:
        config = DaemonConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            located.problem(tuple(e["loc"]), _message(e)) for e in exc.errors(include_url=False)
        ]
        raise ConfigError(problems) from None
    _check_references(config, located)
    config._where = {n.name: located.at(("notifiers", i)) for i, n in enumerate(config.notifiers)}
    return config


def _document(text: str, file: str) -> Doc:
    """The config's one YAML document, read by the spec's hardened, located reader: nesting
    depth, alias expansion (YAML bombs), numbers and invisible characters are located errors."""
    docs: list[Doc] = []
    for item in parse_documents(text, file):
        if isinstance(item, Problem):
            raise ConfigError(_config_wording(item))
        docs.append(item)
    if len(docs) > 1:
        raise ConfigError(
            Problem(docs[1].start, f"expected one YAML document, found {len(docs)}; remove '---'")
        )
    return docs[0] if docs else Doc(file, None, Location(file, 1, 1))


def _config_wording(problem: Problem) -> Problem:
    # The config has always said "not valid YAML" where the SLO reader says "invalid YAML".
    message = problem.message
    if message.startswith("invalid YAML"):
        message = "not valid YAML" + message.removeprefix("invalid YAML")
    return Problem(problem.location, message, problem.field, problem.level)


def _renders_budget(notifier: NotifierConfig) -> bool:
    if notifier.type not in BUDGET_NOTIFIER_TYPES:
        return False
    return getattr(notifier, "preset", "generic") == "generic"


def _check_references(config: DaemonConfig, located: _Located) -> None:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    for i, notifier in enumerate(config.notifiers):
        if notifier.name in names:
            problems.append(
                located.problem(
                    ("notifiers", i, "name"),
                    f"duplicate notifier name {notifier.name!r} "
                    f"(first defined at notifiers[{names[notifier.name]}])",
                )
            )
        names.setdefault(notifier.name, i)
    valid = ", ".join(sorted(names)) or "none configured"
    for i, route in enumerate(config.routes):
        for j, name in enumerate(route.notifiers):
            if name not in names:
                problems.append(
                    located.problem(
                        ("routes", i, "notifiers", j),
                        f"no notifier named {name!r}; configured notifiers: {valid}",
                    )
                )
            elif route.match.event and not _renders_budget(config.notifiers[names[name]]):
                problems.append(
                    located.problem(
                        ("routes", i, "notifiers", j),
                        f"notifier {name!r} cannot take budget events: route them to a "
                        "slack, jira, pagerduty or opsgenie notifier or a webhook with the "
                        "generic preset",
                    )
                )
    problems.extend(_state_problems(config, located))
    fast = config.fast_path.interval_seconds
    explicit = "interval_seconds" in config.fast_path.model_fields_set
    if explicit and fast > 0 and fast >= config.interval_seconds:
        problems.append(
            located.problem(
                ("fast_path", "interval_seconds"),
                f"{fast:g} is not shorter than interval_seconds ({config.interval_seconds:g}): "
                "the fast path would never run between ticks; make it shorter, or 0 to turn "
                "it off",
            )
        )
    recorded = config.recorded_series
    if recorded.mode == "off" and recorded.direct_windows_max_seconds:
        problems.append(
            located.problem(
                ("recorded_series", "direct_windows_max_seconds"),
                "has no effect with recorded_series.mode: off (every window is already queried "
                "directly); remove it, or set mode: auto",
            )
        )
    if problems:
        raise ConfigError(problems)


def _state_problems(config: DaemonConfig, located: _Located) -> list[Problem]:
    """Exactly one state database; a password only with ``state_url``, never inside it."""
    problems: list[Problem] = []
    if (config.state_path is None) == (config.state_url is None):
        where = ("state_url",) if config.state_url is not None else ("state_path",)
        problems.append(
            located.problem(
                where,
                "give exactly one of state_path (SQLite file) and state_url "
                "(postgresql://USER@HOST:PORT/DB)",
            )
        )
    url = config.state_url or ""
    if ":" in url.partition("://")[2].partition("@")[0] and "@" in url:
        problems.append(
            located.problem(
                ("state_url",),
                "holds a password; put it in state_password_file or state_password_env",
            )
        )
    for name in ("state_password_file", "state_password_env", "ha"):
        if name in config.model_fields_set and config.state_url is None:
            problems.append(located.problem((name,), "applies only with state_url; remove it"))
    ha = config.ha
    longest = config.interval_seconds * (1 + config.interval_jitter_ratio)
    if config.state_url is not None and longest >= 0.8 * ha.lease_seconds:
        message = (
            f"{ha.lease_seconds:g} s is too short for a tick every {config.interval_seconds:g} s"
            f" (+{config.interval_jitter_ratio:.0%} jitter): leases are renewed every tick and "
            f"a replica stops sending after 80 % of its lease; make it over {longest / 0.8:g} s"
        )
        problems.append(located.problem(("ha", "lease_seconds"), message))
    return problems


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate the config file at ``path`` (relative paths resolve against its dir)."""
    file = Path(path)
    text = read_text(file, str(path), DEFAULT_LIMITS)  # size limit, UTF-8, no NUL bytes
    if isinstance(text, Problem):
        raise ConfigError(text)
    return parse_config(text, str(path), base=file.resolve().parent)
