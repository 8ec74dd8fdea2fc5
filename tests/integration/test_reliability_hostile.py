"""Hostile SLO and config files through the real CLI, in a subprocess with a memory limit.

Each file must end in a located error (``FILE:LINE:COLUMN: error: ...``), exit 1 or 2, within
a time bound and an address-space limit, and never with a Python traceback. Nothing is asked of
Prometheus: every case must be refused while loading.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 1024 * 1024 * 1024  # 1 GiB of address space for the whole interpreter
TIME_LIMIT = 30.0  # seconds, generous for a loaded 2-core machine; a bomb would take forever
LOCATED = re.compile(r"^\S+:\d+:\d+: error: ", re.MULTILINE)
CANARY = "CANARY-outside-the-config-dir-7f3a"

SLO = """\
apiVersion: sloguard/v1
kind: SLO
metadata: {{name: {name}{labels}}}
spec:
  service: checkout
  objective: {objective}
  window: {window}
  indicator:
    ratio:
      errors: {errors}
      total: sum(rate(http_requests_total{{job="api"}}[{{{{.window}}}}]))
"""
ERRORS = 'sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))'


def slo(
    name: str = "checkout",
    *,
    labels: str = "",
    objective: str = "99.9",
    window: str = "30d",
    errors: str = ERRORS,
) -> str:
    return SLO.format(name=name, labels=labels, objective=objective, window=window, errors=errors)


def bomb(levels: int = 9) -> str:
    """The billion laughs: 9 levels of 9 aliases each expand to 9**9 strings."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def deep(depth: int = 20000) -> str:
    return "[" * depth + "]" * depth + "\n"


def deep_map(depth: int = 5000) -> str:
    return "{a: " * depth + "1" + "}" * depth + "\n"


CONFIG_HEAD = 'prometheus: {url: "http://127.0.0.1:9"}\nslo_paths: [slos/]\nstate_path: state.db\n'

# (id, files relative to the config dir, the command's extra args)
Corpus = Callable[[Path], None]


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


SLO_CASES = [
    pytest.param({"slos/a.yaml": bomb()}, id="slo-yaml-bomb"),
    pytest.param(
        {"slos/a.yaml": bomb() + "l9: [" + ",".join(["*l8"] * 9) + "]\n"}, id="slo-bomb-10"
    ),
    pytest.param({"slos/a.yaml": deep()}, id="slo-deep-sequences"),
    pytest.param({"slos/a.yaml": deep_map()}, id="slo-deep-mappings"),
    pytest.param({"slos/a.yaml": "a: &a [*a]\n"}, id="slo-recursive-alias"),
    pytest.param({"slos/a.yaml": "x: " + "y" * (11 * 1024 * 1024) + "\n"}, id="slo-11MiB-file"),
    pytest.param({"slos/a.yaml": "---\n" * 60000}, id="slo-60k-documents"),
    pytest.param({"slos/a.yaml": slo(objective="1e400")}, id="slo-objective-infinite"),
    pytest.param({"slos/a.yaml": slo(objective=".nan")}, id="slo-objective-nan"),
    pytest.param({"slos/a.yaml": slo(objective="9" * 5000)}, id="slo-objective-5000-digits"),
    pytest.param({"slos/a.yaml": slo(window="99999999999999999999d")}, id="slo-window-huge"),
    pytest.param({"slos/a.yaml": slo(name="a" * 100_000)}, id="slo-name-100k-chars"),
    pytest.param(
        {"slos/a.yaml": slo(name='"x\\"}) or vector(1) #"')}, id="promql-injection-via-name"
    ),
    pytest.param(
        {"slos/a.yaml": slo(labels=', labels: {"te am\\"}": x}')},
        id="promql-injection-via-label-name",
    ),
    pytest.param(
        {"slos/a.yaml": slo(errors="sum(rate(x[{{.window}}])) ) or vector(1")},
        id="promql-unbalanced-query",
    ),
    pytest.param({"slos/a.yaml": slo(name='"check\u202eout"')}, id="unicode-bidi-override-name"),
    pytest.param({"slos/a.yaml": slo(name='"check\u200bout"')}, id="unicode-zero-width-name"),
    pytest.param(
        {"slos/a.yaml": slo(name='"\u0441heckout"')}, id="unicode-cyrillic-homoglyph-name"
    ),
    pytest.param(
        {"slos/a.yaml": slo(labels=', labels: {team: "pay\u202ements"}')},
        id="unicode-bidi-in-label-value",
    ),
    pytest.param({"slos/a.yaml": b"\xff\xfe\x00a\x00b"}, id="slo-not-utf8"),
    pytest.param(
        {"slos/a.yaml": "!!python/object/apply:os.system ['echo pwned']\n"}, id="yaml-python-tag"
    ),
]

CONFIG_CASES = [
    pytest.param({"sloguard.yaml": CONFIG_HEAD + bomb()}, id="config-yaml-bomb"),
    pytest.param({"sloguard.yaml": CONFIG_HEAD + "x: " + deep()}, id="config-deep-sequences"),
    pytest.param({"sloguard.yaml": CONFIG_HEAD + "x: " + deep_map()}, id="config-deep-mappings"),
    pytest.param({"sloguard.yaml": "a: &a [*a]\n"}, id="config-recursive-alias"),
    pytest.param(
        {"sloguard.yaml": CONFIG_HEAD + "# " + "y" * (11 * 1024 * 1024) + "\n"},
        id="config-11MiB-file",
    ),
    pytest.param(
        {
            "sloguard.yaml": CONFIG_HEAD.replace("slos/", "../outside/")
            + "interval_seconds: 1e400\n"
        },
        id="config-interval-infinite",
    ),
    pytest.param(
        {"sloguard.yaml": CONFIG_HEAD + "!!python/object/apply:os.system ['touch pwned']: 1\n"},
        id="config-python-tag",
    ),
    pytest.param({"sloguard.yaml": b"\xff\xfeprometheus"}, id="config-not-utf8"),
    pytest.param(
        {
            "sloguard.yaml": CONFIG_HEAD.replace("slos/", "../outside/"),
            "../outside/passwd.yaml": f"root:{CANARY}:0:0:root:/root:/bin/bash\n",
        },
        id="slo-path-outside-the-config-dir-not-echoed",
    ),
    pytest.param(
        {
            "sloguard.yaml": CONFIG_HEAD
            + "notifiers:\n  - {name: pd, type: pagerduty, routing_key_file: ../outside/key}\n",
            "../outside/key": f"{CANARY}\n" * 3,
            "slos/a.yaml": slo(),
        },
        id="secret-file-outside-the-config-dir-not-echoed",
    ),
]


def run(args: list[str], cwd: Path) -> tuple[int, str, float]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sloguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT * 2,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def check(code: int, output: str, took: float, cwd: Path) -> None:
    assert "Traceback" not in output, output[-3000:]
    assert code in (1, 2), (code, output[-3000:])
    assert LOCATED.search(output), output[-3000:]
    assert took < TIME_LIMIT, took
    assert CANARY not in output, output[-3000:]
    assert not (cwd / "pwned").exists()  # no constructor ran
    assert len(output) < 100_000  # an error names the problem, it does not echo the input


@pytest.mark.parametrize("files", SLO_CASES)
def test_hostile_slo_files_are_located_errors(
    files: dict[str, str | bytes], tmp_path: Path
) -> None:
    root = tmp_path / "conf"
    write(root, files)
    code, output, took = run(["validate", str(root / "slos")], root)
    check(code, output, took, root)


@pytest.mark.parametrize("files", CONFIG_CASES)
def test_hostile_config_files_are_located_errors(
    files: dict[str, str | bytes], tmp_path: Path
) -> None:
    root = tmp_path / "conf"
    write(root, {"slos/a.yaml": slo(), **files})
    code, output, took = run(["run", "--config", str(root / "sloguard.yaml"), "--once"], root)
    check(code, output, took, root)


INJECTED = 'a"} or vector(1) or x{b="'


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")
def test_a_label_value_is_data_never_promql(tmp_path: Path) -> None:
    """A label value with PromQL in it stays a label value: it never reaches an expression."""
    root = tmp_path / "conf"
    value = INJECTED.replace('"', '\\"')
    write(root, {"slos/a.yaml": slo(labels=f', labels: {{team: "{value}"}}')})
    code, output, _ = run(["generate", str(root / "slos"), "-o", str(root / "rules")], root)
    assert code == 0, output
    (rules,) = (root / "rules").glob("*.y*ml")
    loaded = yaml.safe_load(rules.read_text())
    exprs = [r["expr"] for g in loaded["groups"] for r in g["rules"]]
    assert exprs
    assert not any("x{b=" in e or "or vector" in e for e in exprs)
    assert any(
        r.get("labels", {}).get("team") == INJECTED for g in loaded["groups"] for r in g["rules"]
    )
    check_rules = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert check_rules.returncode == 0, check_rules.stdout + check_rules.stderr
