"""Write native ``sloguard/v1`` documents as YAML (what ``sloguard import`` prints)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Multi-line PromQL as literal blocks, so imported queries read as they were written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value.strip() else None
    text = value.strip() + "\n" if style else value
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional mappings (e.g. ``labels: {}``) for a tidy file."""
    out = dict(data)
    meta = dict(out.get("metadata", {}))
    for key in ("labels", "namespace", "k8s_labels"):
        if not meta.get(key):
            meta.pop(key, None)
    out["metadata"] = meta
    return out


def native_yaml(documents: Sequence[dict[str, Any]], header: str = "") -> str:
    """Documents as one multi-document YAML text, ``---`` between them."""
    parts = [
        yaml.dump(_clean(d), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        for d in documents
    ]
    body = "---\n".join(parts)
    if header:
        body = "".join(f"# {line}\n" for line in header.splitlines()) + body
    return body
