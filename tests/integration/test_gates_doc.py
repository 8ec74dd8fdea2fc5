"""The examples of docs/gates.md, run as written against the real CLI and daemon endpoint.

Each fenced example is taken from the page itself, so the page cannot drift from what works:
the GitHub Actions step's command, the Argo Rollouts AnalysisTemplate's URL, JSONPath and
success condition, and the shell one-liner. The only change made to them is where Prometheus
and the daemon are (and ``--at``, to pin the instant of the generated history).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness import scenarios as sc
from tests.support.gate import ROOT, daemon_endpoint, write_daemon_config
from tests.support.prom import Served

pytestmark = pytest.mark.prometheus
PAGE = ROOT / "docs" / "gates.md"
# (instant, whether the checkout release is allowed there)
INSTANTS = [
    pytest.param(5 * 3600, True, id="before-the-outage-allowed"),
    pytest.param(sc.OUTAGE_START + 600, False, id="during-the-outage-blocked"),
]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def github_step() -> dict[str, Any]:
    (step,) = [b for b in blocks("yaml") if "sloguard gate" in b]
    loaded = yaml.safe_load(step)
    assert isinstance(loaded, list)
    return dict(loaded[0])


def analysis_template() -> dict[str, Any]:
    (doc,) = [b for b in blocks("yaml") if "AnalysisTemplate" in b]
    return dict(yaml.safe_load(doc))


def json_path(expr: str, body: Any) -> Any:
    """The subset of Kubernetes JSONPath Argo's web provider examples use: ``{$.a.b}``."""
    match = re.fullmatch(r"\{\$((?:\.\w+)+)\}", expr)
    assert match, f"not a simple JSONPath: {expr}"
    for name in match[1].split(".")[1:]:
        body = body[name]
    return body


@pytest.mark.parametrize(("offset", "allowed"), INSTANTS)
def test_github_actions_step(incidents: Served, tmp_path: Path, offset: int, allowed: bool) -> None:
    step = github_step()
    command = step["run"]
    assert command.startswith("sloguard gate slo_definitions/ ")
    write_daemon_config(tmp_path, incidents.url)
    (tmp_path / "slos").rename(tmp_path / "slo_definitions")
    at = incidents.scenario.at(offset)
    argv = [sys.executable, "-m", *shlex.split(os.path.expandvars(
        command.replace("$PROMETHEUS_URL", incidents.url)
    )), "--at", str(at)]  # fmt: skip
    done = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == (0 if allowed else 1), done.stdout + done.stderr


@pytest.mark.parametrize(("offset", "allowed"), INSTANTS)
def test_argo_analysis_template_and_shell_one_liner(
    incidents: Served, tmp_path: Path, offset: int, allowed: bool
) -> None:
    if shutil.which("curl") is None or shutil.which("jq") is None:
        pytest.skip("needs curl and jq (make deps)")
    template = analysis_template()
    assert template["kind"] == "AnalysisTemplate"
    (metric,) = template["spec"]["metrics"]
    assert metric["successCondition"] == "result == true"
    web = metric["provider"]["web"]
    (one_liner,) = blocks("sh")
    config = write_daemon_config(tmp_path, incidents.url)

    async def ask() -> tuple[httpx.Response, subprocess.CompletedProcess[str]]:
        async with daemon_endpoint(config, incidents.scenario.at(offset)) as base:
            url = web["url"].replace("{{args.service}}", "checkout")
            url = url.replace("http://sloguard.monitoring.svc:8080", base)
            async with httpx.AsyncClient() as http:
                reply = await http.get(url)
            shell = await asyncio.to_thread(
                subprocess.run, ["sh", "-c", one_liner], capture_output=True, text=True,
                timeout=30, check=False, env={**os.environ, "SLOGUARD_URL": base},
            )  # fmt: skip
        return reply, shell

    reply, shell = asyncio.run(ask())
    assert reply.status_code == 200
    result = json_path(web["jsonPath"], reply.json())
    assert (result is True) == allowed  # successCondition: result == true
    assert shell.returncode == (0 if allowed else 1), shell.stdout + shell.stderr
    assert ("release blocked by the error budget" in shell.stdout) != allowed


def test_shell_one_liner_fails_closed_when_unknown(incidents: Served, tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("jq") is None:
        pytest.skip("needs curl and jq (make deps)")
    (one_liner,) = blocks("sh")
    config = write_daemon_config(tmp_path, incidents.url)
    unknown = one_liner.replace("service=checkout", "service=idle")

    async def ask() -> subprocess.CompletedProcess[str]:
        async with daemon_endpoint(config, incidents.scenario.at(5 * 3600)) as base:
            return await asyncio.to_thread(
                subprocess.run, ["sh", "-c", unknown], capture_output=True, text=True,
                timeout=30, check=False, env={**os.environ, "SLOGUARD_URL": base},
            )  # fmt: skip

    done = asyncio.run(ask())
    assert done.returncode == 1
    assert "503" in done.stderr


def test_budget_config_example_loads(tmp_path: Path) -> None:
    from sloguard.app import paging_policy
    from sloguard.config import load_config

    (snippet,) = [b for b in blocks("yaml") if "thresholds_percent" in b]
    (tmp_path / "slos.yaml").write_text("")
    path = tmp_path / "sloguard.yaml"
    path.write_text(
        f"""\
prometheus: {{url: "http://127.0.0.1:9"}}
slo_paths: [{tmp_path / "slos.yaml"}]
state_path: {tmp_path / "state.db"}
notifiers:
  - {{name: chat, type: slack, url_env: SLACK_URL}}
  - {{name: incidents, type: webhook, url: "http://127.0.0.1:9/hook", secret_env: WH}}
  - {{name: tracker, type: jira, url: "http://127.0.0.1:9", email: a@b.c, api_token_env: J,
      project: OPS}}
  - {{name: pd, type: pagerduty, routing_key_env: PD}}
{snippet}"""
    )
    policy = paging_policy(load_config(path))
    assert policy.budget.thresholds_percent == (50.0, 25.0, 0.0)
    assert [sorted(r.events) for r in policy.routes] == [
        ["budget.exhausted"],
        ["budget.recovered", "budget.threshold_crossed"],
        ["budget.exhausted", "budget.recovered"],
    ]
