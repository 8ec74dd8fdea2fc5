"""The chart with replicas on PostgreSQL: replicaCount above 1 only with config.state_url,
RollingUpdate, spread over nodes, a PDB keeping one up; SQLite stays one Recreate pod."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloguard.config import parse_config

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "sloguard"
GOLDEN = REPO / "tests" / "golden" / "helm" / "ha-postgresql.yaml"
HA = (
    "--set", "replicaCount=3",
    "--set", "config.state_url=postgresql://sloguard@db.monitoring:5432/sloguard?sslmode=require",
    "--set", "config.interval_seconds=5",
)  # fmt: skip


def helm() -> Path:
    for candidate in (os.environ.get("SLOGUARD_HELM"), str(REPO / ".tools" / "helm")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    found = shutil.which("helm")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("helm is not installed (make helm)")
        pytest.skip("helm is not installed: run `make helm`")
    return Path(found)


def template(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm()), "template", "sloguard", str(CHART), "--namespace", "monitoring",
         "--kube-version", "1.29.0", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "HELM_CACHE_HOME": "/tmp/sloguard-helm-cache"},
    )  # fmt: skip


def docs(*args: str) -> dict[str, dict[str, Any]]:
    result = template(*args)
    assert result.returncode == 0, result.stderr
    return {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if d}


def test_replicas_on_postgresql_roll_spread_and_keep_one_up() -> None:
    result = template(*HA)
    assert result.returncode == 0, result.stderr
    if os.environ.get("SLOGUARD_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(result.stdout)
    assert result.stdout == GOLDEN.read_text(), "regenerate with SLOGUARD_UPDATE_GOLDEN=1"
    kinds = docs(*HA)
    spec = kinds["Deployment"]["spec"]
    assert (spec["replicas"], spec["strategy"]) == (3, {"type": "RollingUpdate"})
    (spread,) = spec["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert "PersistentVolumeClaim" not in kinds  # the state is in PostgreSQL
    config_text = kinds["ConfigMap"]["data"]["sloguard.yaml"]
    config = parse_config(config_text, "sloguard.yaml")  # what the pods load is valid
    assert (config.state_path, config.state_url) == (None, HA[3].split("=", 1)[1])


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--set", "replicaCount=2"), id="replicas-on-sqlite"),
        pytest.param(("--set", "replicaCount=0"), id="no-replica"),
        pytest.param(("--set", "config.state_url=mysql://db/x"), id="not-postgresql"),
    ],
)
def test_the_values_schema_refuses(args: tuple[str, ...]) -> None:
    result = template(*args)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr


def test_sqlite_stays_one_recreate_pod() -> None:
    spec = docs()["Deployment"]["spec"]
    assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
