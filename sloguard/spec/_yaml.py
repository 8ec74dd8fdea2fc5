"""Read YAML safely and keep the line and column of every key and value.

The file is *composed* (not constructed) so that every node keeps its marks; the node graph is
then turned into plain Python values while a side table records where each path sits. Hard limits
protect the loader from hostile or accidental input: file size, document count, nesting depth and
alias expansion (the "billion laughs" YAML bomb). Every failure becomes a located :class:`Problem`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sloguard.errors import Location, Problem

try:  # libyaml is several times faster; fall back to pure Python where it is missing
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_CONSTRUCTED = {_INT, _FLOAT, _BOOL, _NULL}


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard limits of the loader; each one turns into a located error, never a hang."""

    max_file_bytes: int = 10 * 1024 * 1024
    max_documents: int = 50_000
    max_depth: int = 64
    # Nodes one document may expand to, counting every alias use in full (YAML bombs).
    max_nodes_per_document: int = 100_000


DEFAULT_LIMITS = Limits()


# Bidi overrides and isolates (the "Trojan Source" characters), zero-width characters and a BOM
# inside text: each makes what a page or a rule shows differ from what it means.
_HIDDEN = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _preview(value: str) -> str:
    """A short, printable stand-in for a value in a message (hostile input can be huge)."""
    shown = value if len(value) <= 40 else value[:40] + "..."
    return ascii(shown)


class _LimitExceeded(Exception):
    def __init__(self, node: Node, message: str) -> None:
        self.node = node
        super().__init__(message)


@dataclass(slots=True)
class Doc:
    """One YAML document as plain data plus where each of its paths sits in the file."""

    file: str
    data: Any
    start: Location
    keys: dict[Path_, Location] = field(default_factory=dict)
    values: dict[Path_, Location] = field(default_factory=dict)
    # Source spelling of a path, for documents an adapter translated (e.g. Sloth's sli.events).
    names: dict[Path_, str] = field(default_factory=dict)

    def display(self, path: Path_) -> str:
        """How to name ``path`` in a message: ``spec.indicator.ratio.errors``, ``tiers[0]``."""
        if path in self.names:
            return self.names[path]
        out = ""
        for part in path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out

    def sub(self, prefix: Path_) -> Doc:
        """The part of this document under ``prefix``, re-rooted (for lists of objects)."""
        n = len(prefix)
        return Doc(
            self.file,
            self.get(prefix),
            self.value(prefix),
            {p[n:]: loc for p, loc in self.keys.items() if p[:n] == prefix},
            {p[n:]: loc for p, loc in self.values.items() if p[:n] == prefix},
        )

    def get(self, path: Path_, default: Any = None) -> Any:
        """The value at ``path``, or ``default`` when any step is missing or of another type."""
        cur = self.data
        for part in path:
            in_list = isinstance(part, int) and isinstance(cur, list) and 0 <= part < len(cur)
            if not (in_list or (isinstance(cur, dict) and part in cur)):
                return default
            cur = cur[part]
        return cur

    def key(self, path: Path_) -> Location:
        """Location of the key at ``path``, or of the nearest ancestor that exists."""
        while path:
            loc = self.keys.get(path)
            if loc is None and isinstance(path[-1], int):
                loc = self.values.get(path)  # a list item has no key: point at the item
            if loc is not None:
                return loc
            path = path[:-1]
        return self.start

    def value(self, path: Path_) -> Location:
        """Location of the value at ``path``, falling back to its key or an ancestor."""
        loc = self.values.get(path)
        return loc if loc is not None else self.key(path)


def _loc(file: str, node: Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


class _Converter:
    """Turns a composed node graph into plain values, recording locations and counting nodes."""

    def __init__(self, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.count = 0
        self.keys: dict[Path_, Location] = {}
        self.values: dict[Path_, Location] = {}
        self._active: set[int] = set()
        self._constructor = SafeConstructor()

    def convert(self, node: Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > self.limits.max_nodes_per_document:
            raise _LimitExceeded(
                node,
                f"document expands to more than {self.limits.max_nodes_per_document} nodes "
                "(anchors and aliases repeated too often: a YAML bomb?); flatten it",
            )
        if depth > self.limits.max_depth:
            raise _LimitExceeded(
                node, f"nesting deeper than {self.limits.max_depth} levels; flatten it"
            )
        self.values[path] = _loc(self.file, node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if id(node) in self._active:
            raise _LimitExceeded(node, "an alias refers to a node that contains it (recursion)")
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [
                    self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)
                ]
            if isinstance(node, MappingNode):
                return self._mapping(node, path, depth)
        finally:
            self._active.discard(id(node))
        raise _LimitExceeded(node, f"unsupported YAML node {node.tag}")  # pragma: no cover

    def scalar(self, node: ScalarNode) -> Any:
        hidden = _HIDDEN.search(node.value)
        if hidden is not None:
            raise _LimitExceeded(
                node,
                f"invisible or direction-changing character U+{ord(hidden.group()):04X} in "
                f"{_preview(node.value)}: a page would not show what it says; remove it",
            )
        if node.tag in _CONSTRUCTED:
            try:
                return self._constructor.construct_object(node)
            except ValueError as exc:  # e.g. an integer of more than 4300 digits
                raise _LimitExceeded(node, f"not a usable number ({exc})") from None
        return node.value

    def _mapping(self, node: MappingNode, path: Path_, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        explicit: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *defaults`: explicit keys win, first merge wins
                merged = self.convert(value_node, (*path, "<<"), depth + 1)
                sources = merged if isinstance(merged, list) else [merged]
                for src in sources:
                    if not isinstance(src, dict):
                        raise _LimitExceeded(value_node, "'<<' merges only mappings")
                    for k, v in src.items():
                        if k not in explicit and k not in out:
                            out[k] = v
                continue
            if not isinstance(key_node, ScalarNode):
                raise _LimitExceeded(key_node, "a mapping key must be a plain value, not a list")
            key = self.scalar(key_node)
            if key in explicit:
                raise _LimitExceeded(key_node, f"duplicate key {key!r} in the same mapping")
            explicit.add(key)
            sub = (*path, key if isinstance(key, str | int) else str(key))
            self.keys[sub] = _loc(self.file, key_node)
            out[key] = self.convert(value_node, sub, depth + 1)
        return out


def _decode(raw: bytes, file: str) -> str | Problem:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return Problem(
            Location(file, line, column),
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); the file must be UTF-8 YAML",
        )
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        return Problem(
            Location(file, line, column), "binary data (a NUL byte); the file must be YAML text"
        )
    return text


def read_text(path: Path, file: str, limits: Limits) -> str | Problem:
    """Read a file as UTF-8 text within the size limit, or return the located problem."""
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            return Problem(
                Location(file, 1, 1),
                f"file is {size / 1048576:.1f} MiB, above the limit of "
                f"{limits.max_file_bytes / 1048576:.1f} MiB; split it into several files",
            )
        with path.open("rb") as fh:
            raw = fh.read(limits.max_file_bytes + 1)
    except OSError as exc:
        return Problem(Location(file), f"cannot read: {exc.strerror or exc}")
    if len(raw) > limits.max_file_bytes:  # it grew between stat and read
        return Problem(Location(file, 1, 1), "file is above the size limit; split it")
    return _decode(raw, file)


def parse_documents(
    text: str, file: str, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Doc | Problem]:
    """Yield each non-empty document of ``text``; a YAML error ends the file with one Problem."""
    loader = _Loader(text)
    try:
        count = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there was one
                break
            count += 1
            if count > limits.max_documents:
                yield Problem(
                    _loc(file, node),
                    f"more than {limits.max_documents} documents in one file; split it",
                )
                return
            if isinstance(node, ScalarNode) and node.tag == _NULL:
                continue  # an empty document, e.g. after a trailing '---'
            conv = _Converter(file, limits)
            try:
                data = conv.convert(node, (), 0)
            except _LimitExceeded as exc:
                yield Problem(_loc(file, exc.node), str(exc))
                continue
            yield Doc(file, data, _loc(file, node), conv.keys, conv.values)
    except yaml.MarkedYAMLError as exc:
        yield _yaml_problem(exc, file)
    except yaml.YAMLError as exc:
        yield Problem(Location(file, 1, 1), f"YAML error: {exc}")
    except RecursionError:
        yield Problem(Location(file, 1, 1), "YAML nested too deeply to read; flatten it")
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "; ".join(parts) if parts else "invalid YAML"
    hint = ""
    if exc.problem and "mapping values are not allowed" in exc.problem:
        hint = " (check the indentation of this line and the one above, or quote a value with ':')"
    elif exc.problem and "found character '\\t'" in exc.problem:
        hint = " (YAML indents with spaces, not tabs)"
    return Problem(loc, f"invalid YAML: {message}{hint}")
