"""Whether the config or SLO files changed, without reading them: the supervisor's reload
trigger. A Kubernetes ConfigMap update swaps a ``..data`` symlink, so targets are followed."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

YAML_SUFFIXES = (".yaml", ".yml")

Fingerprint = tuple[tuple[str, str, int, int, int], ...]


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    """What identifies the content of ``paths`` without reading it: per YAML file (directories
    walked, dot-entries such as a ConfigMap's ``..data`` skipped) its path, resolved target,
    inode, mtime and size. Following symlinks is what catches a ConfigMap's atomic swap: the
    visible names stay, their targets change. A missing path is part of the fingerprint too."""
    entries: list[tuple[str, str, int, int, int]] = []
    for path in paths:
        for file in _files(path):
            try:
                st = file.stat()
                target = os.path.realpath(file)
            except OSError:
                entries.append((str(file), "", -1, -1, -1))
                continue
            entries.append((str(file), target, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(sorted(entries))


def _files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    for root, dirs, files in os.walk(path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root) / f
            for f in sorted(files)
            if f.lower().endswith(YAML_SUFFIXES) and not f.startswith(".")
        )
    found.append(path)  # a file added or removed changes the directory's own mtime
    return found


__all__ = ["Fingerprint", "fingerprint"]
