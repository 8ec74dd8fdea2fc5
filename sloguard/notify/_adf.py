"""Markdown as sloguard writes it (the postmortem draft, ticket text) into Atlassian Document
Format, the only text Jira Cloud REST v3 accepts in descriptions and comments. Pure.

The subset is the one in ``harness/contracts/jira/adf.schema.json``: headings, paragraphs,
bullet lists, code blocks, text with ``strong``, ``code`` and ``link`` marks. Tables become
code blocks (monospace keeps the columns readable); HTML comments become italic hints.
Text nodes are never empty (empty text is invalid ADF).
"""

from __future__ import annotations

import re
from typing import Any

_INLINE = re.compile(r"(\*\*[^*]+\*\*|`[^`]+`|https?://\S+)")
Node = dict[str, Any]


def inline(text: str) -> list[Node]:
    """Text nodes of one line: ``**bold**``, ```code``` and bare URLs as marks."""
    nodes: list[Node] = []
    for part in _INLINE.split(text):
        if not part:
            continue
        if part.startswith("**") and part.endswith("**") and len(part) > 4:
            nodes.append({"type": "text", "text": part[2:-2], "marks": [{"type": "strong"}]})
        elif part.startswith("`") and part.endswith("`") and len(part) > 2:
            nodes.append({"type": "text", "text": part[1:-1], "marks": [{"type": "code"}]})
        elif part.startswith(("http://", "https://")):
            mark = {"type": "link", "attrs": {"href": part}}
            nodes.append({"type": "text", "text": part, "marks": [mark]})
        else:
            nodes.append({"type": "text", "text": part})
    return nodes


def paragraph(text: str) -> Node:
    content = inline(text)
    return {"type": "paragraph", "content": content} if content else {"type": "paragraph"}


def _hint(text: str) -> Node:
    body = text.removeprefix("<!--").removesuffix("-->").strip()
    if not body:
        return {"type": "paragraph"}
    return {
        "type": "paragraph",
        "content": [{"type": "text", "text": body, "marks": [{"type": "em"}]}],
    }


def _bullets(items: list[str]) -> Node:
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [paragraph(item)]} for item in items],
    }


def _code(lines: list[str]) -> Node:
    text = "\n".join(lines)
    return {"type": "codeBlock", "content": [{"type": "text", "text": text}] if text else []}


def document(markdown: str) -> Node:
    """The ADF ``doc`` of ``markdown``."""
    blocks: list[Node] = []
    bullets: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if bullets:
            blocks.append(_bullets(list(bullets)))
            bullets.clear()
        if table:
            blocks.append(_code(list(table)))
            table.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if line.startswith(("- ", "* ")):
            if table:
                flush()
            bullets.append(line[2:])
            continue
        if line.startswith("|"):
            if bullets:
                flush()
            table.append(line)
            continue
        flush()
        if not line:
            continue
        if heading:
            level, text = len(heading.group(1)), heading.group(2)
            blocks.append({"type": "heading", "attrs": {"level": level}, "content": inline(text)})
        elif line.startswith("<!--"):
            blocks.append(_hint(line))
        else:
            blocks.append(paragraph(line.strip("_") if line.startswith("_") else line))
    flush()
    return {"version": 1, "type": "doc", "content": blocks or [{"type": "paragraph"}]}
