"""A small walker over a source document (Sloth, OpenSLO) that checks field names."""

from __future__ import annotations

import difflib

from sloguard.errors import Problem
from sloguard.spec._yaml import Doc, Path_

# Sloth spells fields in snake_case (prometheus/v1) or camelCase (the CRD); Sloth itself
# ignores the other spelling silently, sloguard accepts both and rejects anything else.
_SPELLINGS = {
    "error_query": "errorQuery",
    "total_query": "totalQuery",
    "error_ratio_query": "errorRatioQuery",
    "page_alert": "pageAlert",
    "ticket_alert": "ticketAlert",
    "slo_plugins": "sloPlugins",
}


class Reader:
    """Walks one Sloth document, checking field names and remembering source locations."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def name(self, path: Path_) -> str:
        return self.doc.display(path)

    def error(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.doc.key(path), message, self.name(path)))

    def warn(self, path: Path_, message: str) -> None:
        self.warnings.append(Problem(self.doc.key(path), message, self.name(path), level="warning"))

    def fields(self, path: Path_, allowed: tuple[str, ...]) -> dict[str, Path_]:
        """Canonical field name -> source path of a mapping; unknown names are errors."""
        value = self.doc.get(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"{self.name(path) or 'document'}: expected a mapping")
            return {}
        spellings = {s: s for s in allowed}
        spellings.update({_SPELLINGS[s]: s for s in allowed if s in _SPELLINGS})
        out: dict[str, Path_] = {}
        for key in value:
            canonical = spellings.get(key) if isinstance(key, str) else None
            if canonical is None:
                close = difflib.get_close_matches(str(key), list(spellings), 1, 0.6)
                hint = f"did you mean {close[0]!r}?" if close else "valid: " + ", ".join(allowed)
                where = self.name(path) or "the document"
                self.error((*path, key), f"unknown field {key!r} in {where}; {hint}")
                continue
            out[canonical] = (*path, key)
        return out
