"""The Helm chart deploy/helm/sloguard: lint, golden renders, Kubernetes schemas, values schema.

helm is installed by `make helm` (part of `make test`'s deps) into `.tools/helm`; the tests also
honour SLOGUARD_HELM and a helm on PATH. Golden files are regenerated with
SLOGUARD_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kv

from sloguard.prometheus.config import PrometheusConfig
from sloguard.spec import load

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "sloguard"
DATA = REPO / "tests" / "data" / "helm"
# The PrometheusRule input is the real output of `sloguard generate` (kept fresh by test_rules).
GENERATED_RULES = REPO / "alert_rules" / "checkout.rules.yml"
GOLDEN = REPO / "tests" / "golden" / "helm"
DASHBOARD = REPO / "deploy" / "grafana" / "sloguard.json"
RELEASE = "sloguard"
NAMESPACE = "monitoring"
KUBE_VERSION = "1.29.0"
UPDATE_GOLDEN = os.environ.get("SLOGUARD_UPDATE_GOLDEN") == "1"


def find_helm() -> Path | None:
    candidates = [os.environ.get("SLOGUARD_HELM"), str(REPO / ".tools" / "helm")]
    candidates.append(shutil.which("helm"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def require_helm() -> Path:
    helm = find_helm()
    if helm is not None:
        return helm
    reason = "helm is not installed: run `make helm` (make test installs it into .tools/helm)"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI runs `make test`, which must have installed it
    pytest.skip(reason)


@dataclass(frozen=True)
class Case:
    """One set of values the chart is rendered with."""

    name: str
    args: tuple[str, ...] = ()


CASES = (
    Case("default"),
    Case(
        "full",
        (
            "-f",
            str(DATA / "values-full.yaml"),
            "--set-file",
            f"prometheusRule.ruleFiles.checkout={GENERATED_RULES}",
        ),
    ),
    Case(
        "emptydir-existing-slos",
        (
            "--set",
            "persistence.enabled=false",
            "--set",
            "slos.existingConfigMap=team-slos",
            "--set",
            "rollOnConfigChange=false",
            "--set",
            "podDisruptionBudget.enabled=false",
        ),
    ),
)


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "HELM_CACHE_HOME": "/tmp/sloguard-helm-cache"},
    )


def template(helm: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return run_helm(
        helm,
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        *args,
    )


def render(helm: Path, args: Sequence[str]) -> str:
    result = template(helm, args)
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return result.stdout


def documents(rendered: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def by_kind(docs: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: Sequence[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def compare_golden(path: Path, actual: str) -> None:
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run the tests with SLOGUARD_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=str(path.relative_to(REPO)),
                tofile="rendered",
            )
        )
        pytest.fail(
            f"{path.relative_to(REPO)} differs from the rendered chart; if the change is "
            f"intended, regenerate with SLOGUARD_UPDATE_GOLDEN=1 and review the diff:\n"
            f"{diff[:6000]}"
        )


CASE_PARAMS = [pytest.param(case, id=case.name) for case in CASES]


@pytest.fixture(scope="module")
def helm() -> Path:
    return require_helm()


@pytest.fixture(scope="module")
def rendered(helm: Path) -> dict[str, str]:
    return {case.name: render(helm, case.args) for case in CASES}


def _pod_spec(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


def _container(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    containers = _pod_spec(docs)["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _daemon_config(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    cm = one(docs, "ConfigMap", f"{RELEASE}")
    config: dict[str, Any] = yaml.safe_load(cm["data"]["sloguard.yaml"])
    return config


def _mounts(docs: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """mountPath -> the volume mounted there."""
    volumes = {v["name"]: v for v in _pod_spec(docs)["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in _container(docs)["volumeMounts"]}


# --- lint and golden renders ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_helm_lint_strict_passes(helm: Path, case: Case) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART), *case.args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout, result.stdout
    assert "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_helm_template_matches_golden(rendered: dict[str, str], case: Case) -> None:
    compare_golden(GOLDEN / f"{case.name}.yaml", rendered[case.name])


# --- every manifest against the Kubernetes schemas, offline ----------------------------------

CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_every_manifest_validates_against_kubernetes_schemas(
    rendered: dict[str, str], case: Case
) -> None:
    docs = documents(rendered[case.name])
    assert docs, "nothing rendered"
    for doc in docs:
        what = f"{doc['kind']}/{doc['metadata']['name']}"
        if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
            # No built-in schema for CRDs; checked by the CRD tests below instead.
            with pytest.raises(kv.SchemaNotFoundError):
                kv.validate(doc, KUBE_VERSION, strict=True)
            continue
        try:
            kv.validate(doc, KUBE_VERSION, strict=True)
        except kv.ValidationError as exc:
            path = "/".join(str(p) for p in exc.absolute_path)
            pytest.fail(f"{case.name}: {what} is invalid at {path}: {exc.message}")


def test_kubernetes_validate_cli_accepts_full_render_warning_only_on_crds(
    rendered: dict[str, str], tmp_path: Path
) -> None:
    """The same check as an operator would run it: `kubernetes-validate -k 1.29.0 --strict`."""
    manifest = tmp_path / "full.yaml"
    manifest.write_text(rendered["full"], encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "-k",
            KUBE_VERSION,
            "--strict",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    warnings = [line for line in output.splitlines() if line.startswith("WARN")]
    assert len(warnings) == 2, output
    assert all("PrometheusRule" in w or "ServiceMonitor" in w for w in warnings), warnings
    assert "ERROR" not in output


@pytest.mark.prometheus
def test_prometheusrule_groups_pass_promtool(rendered: dict[str, str], tmp_path: Path) -> None:
    rule = one(documents(rendered["full"]), "PrometheusRule")
    groups = rule["spec"]["groups"]
    names = [g["name"] for g in groups]
    source = yaml.safe_load(GENERATED_RULES.read_text(encoding="utf-8"))
    assert names == [g["name"] for g in source["groups"]] + ["sloguard-daemon"]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = sum(len(g["rules"]) for g in groups)
    assert expected > len(groups)  # every group carries rules, none went missing in templating
    assert f"SUCCESS: {expected} rules found" in result.stdout


def test_prometheusrule_accepts_the_prometheusrule_format_of_generate(
    helm: Path, tmp_path: Path
) -> None:
    rules = yaml.safe_load(GENERATED_RULES.read_text(encoding="utf-8"))
    crd = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "checkout"},
        "spec": rules,
    }
    path = tmp_path / "checkout.yaml"
    path.write_text(yaml.safe_dump(crd), encoding="utf-8")
    docs = documents(
        render(
            helm,
            [
                "--set",
                "prometheusRule.enabled=true",
                "--set-file",
                f"prometheusRule.ruleFiles.c={path}",
            ],
        )
    )
    assert one(docs, "PrometheusRule")["spec"]["groups"] == rules["groups"]


def test_servicemonitor_selects_the_service_port(rendered: dict[str, str]) -> None:
    docs = documents(rendered["full"])
    monitor, service = one(docs, "ServiceMonitor"), one(docs, "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"


# --- what the Deployment promises -------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_deployment_is_one_recreate_replica_running_sloguard(
    rendered: dict[str, str], case: Case
) -> None:
    docs = documents(rendered[case.name])
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = _container(docs)
    assert container["args"][:3] == ["run", "--config", "/etc/sloguard/sloguard.yaml"]
    assert "command" not in container  # the image's ENTRYPOINT is sloguard
    assert container["ports"] == [
        {"name": "http-metrics", "containerPort": 9464, "protocol": "TCP"}
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    service = one(docs, "Service")
    assert service["spec"]["ports"][0]["name"] == "http-metrics"
    assert service["spec"]["ports"][0]["port"] == 9464


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_pod_meets_the_restricted_pod_security_standard(
    rendered: dict[str, str], case: Case
) -> None:
    """The checks of Kubernetes' "restricted" Pod Security Standard that a pod spec can fail."""
    docs = documents(rendered[case.name])
    pod = _pod_spec(docs)
    container = _container(docs)
    pod_sc, sc = pod["securityContext"], container["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] != 0
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    allowed = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected"}
    for volume in pod["volumes"]:
        kinds = set(volume) - {"name"}
        assert kinds <= allowed, f"volume {volume['name']} uses {kinds}"
    assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_config_points_at_what_the_pod_mounts(rendered: dict[str, str], case: Case) -> None:
    docs = documents(rendered[case.name])
    config = _daemon_config(docs)
    mounts = _mounts(docs)
    assert set(config) >= {
        "prometheus",
        "slo_paths",
        "interval_seconds",
        "state_path",
        "notifiers",
        "routes",
        "http",
    }
    assert config["http"] == {"listen": "0.0.0.0:9464"}
    assert mounts["/etc/sloguard"]["configMap"]["name"] == RELEASE
    [slo_dir] = config["slo_paths"]
    slos_cm = "team-slos" if case.name == "emptydir-existing-slos" else f"{RELEASE}-slos"
    assert mounts[slo_dir]["configMap"]["name"] == slos_cm
    state = mounts[str(Path(config["state_path"]).parent)]
    if case.name == "emptydir-existing-slos":
        assert "emptyDir" in state
    else:
        assert state["persistentVolumeClaim"]["claimName"] == f"{RELEASE}-state"
    assert "/tmp" in mounts  # read-only root filesystem: a writable scratch dir
    # The prometheus section is what sloguard's own model accepts (extra fields are errors).
    PrometheusConfig.model_validate(config["prometheus"])


def _kubelet_configmap_volume(root: Path, data: dict[str, str]) -> None:
    """Lay out files as kubelet mounts a ConfigMap: a timestamped hidden directory, a ..data
    symlink to it, and one symlink per key into ..data (what makes the atomic swap work)."""
    stamp = root / "..2026_11_28_10_00_00.000000001"
    stamp.mkdir(parents=True)
    for key, content in data.items():
        (stamp / key).write_text(content, encoding="utf-8")
    (root / "..data").symlink_to(stamp.name)
    for key in data:
        (root / key).symlink_to(f"..data/{key}")


def test_slo_files_load_once_each_from_the_mounted_configmap(helm: Path, tmp_path: Path) -> None:
    """The SLO directory as the daemon sees it in the pod: every SLO once, no duplicates from
    kubelet's hidden ..data copies, and the files valid for the real spec loader."""
    examples = sorted((REPO / "slo_definitions").glob("*.yaml"))
    assert examples, "slo_definitions/ has example SLOs"
    args = [
        arg for path in examples for arg in ("--set-file", f"slos.files.{path.stem}\\.yaml={path}")
    ]
    docs = documents(render(helm, args))
    data = one(docs, "ConfigMap", f"{RELEASE}-slos")["data"]
    assert sorted(data) == sorted(p.name for p in examples)
    slo_dir = tmp_path / "etc" / "sloguard" / "slos"
    _kubelet_configmap_volume(slo_dir, data)
    result = load([slo_dir])
    assert not result.problems, [str(p) for p in result.problems]
    direct = load([REPO / "slo_definitions"])
    assert sorted(s.name for s in result.slos) == sorted(s.name for s in direct.slos)
    assert len(result.files) == len(examples)


def test_secrets_are_files_from_the_existing_secret(rendered: dict[str, str]) -> None:
    docs = documents(rendered["full"])
    config = _daemon_config(docs)
    mounts = _mounts(docs)
    secret_volume = mounts["/etc/sloguard/secrets"]["secret"]
    assert secret_volume["secretName"] == "sloguard-secrets"
    assert secret_volume["defaultMode"] == 0o440
    files = {
        n["name"]: {k: v for k, v in n.items() if k.endswith("_file")} for n in config["notifiers"]
    }
    assert files == {
        "pd": {"routing_key_file": "/etc/sloguard/secrets/pagerduty-routing-key"},
        "og": {"api_key_file": "/etc/sloguard/secrets/opsgenie-api-key"},
        "incidents": {"secret_file": "/etc/sloguard/secrets/webhook-secret"},
        "chat": {"url_file": "/etc/sloguard/secrets/slack-url"},
    }
    auth = config["prometheus"]["basic_auth"]
    assert auth["password_file"] == "/etc/sloguard/secrets/prometheus-password"
    assert config["prometheus"]["ca_file"] == "/etc/sloguard-ca/ca.crt"  # a plain path stays
    assert not by_kind(docs, "Secret"), "the chart must never create a Secret"
    # No secret value can be in the config: only paths.
    text = one(docs, "ConfigMap", RELEASE)["data"]["sloguard.yaml"]
    assert "routing_key:" not in text
    assert "api_key:" not in text


@pytest.mark.parametrize(
    ("values", "annotation"),
    [
        pytest.param(["--set", "config.interval_seconds=60"], "checksum/config", id="config"),
        pytest.param(["--set", "slos.files.a\\.yaml=x: 1"], "checksum/slos", id="slo-files"),
    ],
)
def test_a_config_change_rolls_the_pod(
    rendered: dict[str, str], helm: Path, values: list[str], annotation: str
) -> None:
    before = one(documents(rendered["default"]), "Deployment")
    after = one(documents(render(helm, values)), "Deployment")
    old = before["spec"]["template"]["metadata"]["annotations"]
    new = after["spec"]["template"]["metadata"]["annotations"]
    assert old[annotation] != new[annotation]
    other = ({"checksum/config", "checksum/slos"} - {annotation}).pop()
    assert old[other] == new[other]


def test_roll_on_config_change_can_be_left_to_the_daemons_reload(rendered: dict[str, str]) -> None:
    metadata = one(documents(rendered["emptydir-existing-slos"]), "Deployment")["spec"]["template"]
    assert "annotations" not in metadata["metadata"]
    assert not by_kind(documents(rendered["emptydir-existing-slos"]), "PersistentVolumeClaim")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([], {"maxUnavailable": 1}, id="default-lets-drains-through"),
        pytest.param(
            ["--set", "podDisruptionBudget.minAvailable=1"], {"minAvailable": 1}, id="min-available"
        ),
    ],
)
def test_pod_disruption_budget(helm: Path, values: list[str], expected: dict[str, int]) -> None:
    pdb = one(documents(render(helm, values)), "PodDisruptionBudget")
    assert {k: v for k, v in pdb["spec"].items() if k != "selector"} == expected


def test_existing_claim_is_used_and_no_claim_created(helm: Path) -> None:
    docs = documents(render(helm, ["--set", "persistence.existingClaim=kept-state"]))
    assert not by_kind(docs, "PersistentVolumeClaim")
    assert _mounts(docs)["/var/lib/sloguard"]["persistentVolumeClaim"]["claimName"] == "kept-state"


def test_dashboard_configmap_carries_the_dashboard(rendered: dict[str, str]) -> None:
    cm = one(documents(rendered["full"]), "ConfigMap", f"{RELEASE}-dashboard")
    assert cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "SLOs"}
    assert json.loads(cm["data"]["sloguard.json"]) == json.loads(DASHBOARD.read_text("utf-8"))


def test_chart_dashboard_copy_is_identical_to_deploy_grafana() -> None:
    copy = CHART / "dashboards" / "sloguard.json"
    assert copy.read_bytes() == DASHBOARD.read_bytes(), (
        f"{copy.relative_to(REPO)} differs from {DASHBOARD.relative_to(REPO)}: "
        "copy deploy/grafana/sloguard.json into the chart"
    )


# --- wrong values fail at install time with a clear message --------------------------------

BAD_VALUES = [
    pytest.param(
        ["--set", "persistance.enabled=false"],
        "Additional property persistance is not allowed",
        id="typo-in-a-value-name",
    ),
    pytest.param(
        ["--set", "image.pullPolicy=Sometimes"],
        'image.pullPolicy must be one of the following: "Always", "IfNotPresent", "Never"',
        id="pull-policy",
    ),
    pytest.param(
        ["--set", "config.prometheus.url=prometheus:9090"],
        "config.prometheus.url: Does not match pattern",
        id="prometheus-url-without-scheme",
    ),
    pytest.param(
        ["--set", "service.port=70000"],
        "service.port: Must be less than or equal to 65535",
        id="port-out-of-range",
    ),
    pytest.param(
        ["--set", "config.interval_seconds=0"],
        "config.interval_seconds: Must be greater than 0",
        id="interval-zero",
    ),
    pytest.param(
        ["--set", "config.notifiers[0].name=pd,config.notifiers[0].type=pagerdoody"],
        'config.notifiers.0.type must be one of the following: "pagerduty", "opsgenie"',
        id="unknown-notifier-type",
    ),
    pytest.param(
        ["--set", "config.notifiers[0].type=slack"],
        "config.notifiers.0: name is required",
        id="notifier-without-name",
    ),
    pytest.param(
        [
            "--set",
            "config.notifiers[0].name=pd,config.notifiers[0].type=pagerduty,"
            "config.notifiers[0].routing_key=R0UT1NG",
        ],
        "config.notifiers[0].routing_key: secrets are never written into the config; "
        "use routing_key_file: {secretKey: KEY}",
        id="inline-secret",
    ),
    pytest.param(
        [
            "--set",
            "config.notifiers[0].name=og,config.notifiers[0].type=opsgenie,"
            "config.notifiers[0].api_key_file.secretKey=og-key",
        ],
        "config uses secretKey og-key but secrets.existingSecret is empty",
        id="secret-key-without-secret",
    ),
    pytest.param(
        ["--set", "config.prometheus.bearer_token_file=token"],
        "config.prometheus.bearer_token_file: Must validate one and only one schema",
        id="relative-secret-path",
    ),
    pytest.param(
        ["--set", "config.slo_paths[0]=/slos"],
        "config.slo_paths is set by the chart",
        id="slo-paths-owned-by-chart",
    ),
    pytest.param(
        ["--set", "config.http.listen=0.0.0.0:8080"],
        "config.http.listen is set by the chart from containerPort",
        id="listen-owned-by-chart",
    ),
    pytest.param(
        ["--set", "slos.files.checkout\\.json=x"],
        'slos.files: Property name of "checkout.json" does not match',
        id="slo-file-not-yaml",
    ),
    pytest.param(
        ["--set", "persistence.size=lots"],
        "persistence.size: Does not match pattern",
        id="bad-quantity",
    ),
    pytest.param(
        ["--set", "prometheusRule.enabled=true"],
        "prometheusRule.enabled is true but there are no rules",
        id="prometheusrule-without-rules",
    ),
    pytest.param(
        ["--set", "prometheusRule.enabled=true", "--set", "prometheusRule.ruleFiles.x=record: x"],
        "prometheusRule.ruleFiles.x has no groups: list",
        id="prometheusrule-file-without-groups",
    ),
    pytest.param(
        [
            "--set",
            "prometheusRule.enabled=true",
            "--set",
            "prometheusRule.ruleFiles.x=just a string",
        ],
        "prometheusRule.ruleFiles.x is not a rule file (a YAML mapping with groups:)",
        id="prometheusrule-file-not-a-mapping",
    ),
    pytest.param(
        ["--set", "image.digest=latest"],
        "image.digest: Does not match pattern",
        id="digest-not-sha256",
    ),
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES)
def test_wrong_values_fail_template_with_a_clear_message(
    helm: Path, values: list[str], message: str
) -> None:
    result = template(helm, values)
    assert result.returncode != 0, f"accepted {values}"
    assert message in result.stderr, result.stderr
    assert "R0UT1NG" not in result.stderr, "an error must not echo a secret"


@pytest.mark.parametrize(("values", "message"), BAD_VALUES[:3])
def test_wrong_values_fail_lint(helm: Path, values: list[str], message: str) -> None:
    result = run_helm(helm, "lint", "--strict", str(CHART), *values)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_values_schema_is_valid_json_schema() -> None:
    from jsonschema import Draft7Validator

    schema = json.loads((CHART / "values.schema.json").read_text("utf-8"))
    Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))
    assert not list(Draft7Validator(schema).iter_errors(defaults))


def test_chart_readme_documents_every_value() -> None:
    """Every leaf of values.yaml appears in the README's table by its dotted name."""
    readme = (CHART / "README.md").read_text("utf-8")
    defaults = yaml.safe_load((CHART / "values.yaml").read_text("utf-8"))

    def leaves(value: Any, prefix: str) -> list[str]:
        if isinstance(value, dict) and value:
            return [leaf for k, v in value.items() for leaf in leaves(v, f"{prefix}{k}.")]
        return [prefix.rstrip(".")]

    missing = [name for name in leaves(defaults, "") if f"`{name}`" not in readme]
    assert not missing, f"values missing from deploy/helm/sloguard/README.md: {missing}"
