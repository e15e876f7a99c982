"""The Kubernetes manifests (deploy/kubernetes/) and the Grafana dashboard (deploy/grafana/),
checked against what syncd itself serves and reads, offline.

- Every manifest is validated against the Kubernetes OpenAPI schemas that the
  `kubernetes-validate` package ships (strict: an unknown field is an error).
- The Deployment's probes, port and Prometheus annotations are asked of syncd's own ops
  server (`syncd.ops.OpsServer`, started here), its environment against the variables the
  mounted config names (`token_env`, the Slack channels'...) plus SYNCD_STATE_URL, and its
  mounts against the config's paths; the ConfigMaps' config and rules load with syncd's own
  loaders.
- Every metric in the dashboard's PromQL is one that `/metrics` serves after a real cycle
  against the sandbox (with 429s injected, so the labelled request metrics have samples).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from prometheus_client.parser import text_string_to_metric_families
from ruamel.yaml import YAML

from syncd import metrics
from syncd.config import (
    Config,
    FreshdeskConfig,
    ZendeskConfig,
    load_config,
)
from syncd.errors import RuleError
from syncd.ops import OpsServer, ready_within
from syncd.rules import load_rules
from syncd.sandbox import Sandbox
from tests.conftest import ROOT, Syncd

K8S = ROOT / "deploy" / "kubernetes"
DASHBOARD = ROOT / "deploy" / "grafana" / "syncd.json"
KUBERNETES_VERSION = "1.30.0"  # the oldest minor release still widely run; v1 APIs only

# The image's user (Dockerfile: useradd --uid 10001 syncd).
IMAGE_UID = 10001


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc]


def _all_manifests() -> dict[str, list[dict[str, Any]]]:
    return {p.name: _docs(p) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"}


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for docs in _all_manifests().values()
        for doc in docs
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"one {kind} {name or ''} expected, found {len(found)}"
    return found[0]


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _config_text() -> str:
    return _one("ConfigMap", "syncd-config")["data"]["syncd.yaml"]


def _secret_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }


@pytest.fixture
def k8s_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The ConfigMap's syncd.yaml loaded by syncd, with the Deployment's Secret variables set
    (dummy values) as the pod would have them."""
    for name in _secret_env(_container(_one("Deployment", "syncd"))):
        monkeypatch.setenv(name, "postgresql://u:p@db:5432/syncd" if "URL" in name else "x")
    path = tmp_path / "syncd.yaml"
    path.write_text(_config_text())
    return load_config(path)


# --- the manifests against the Kubernetes schemas ------------------------------------------


def test_every_manifest_is_valid_kubernetes():
    manifests = _all_manifests()
    assert {"deployment.yaml", "configmap.yaml", "poddisruptionbudget.yaml"} <= set(manifests)
    problems = []
    for name, docs in manifests.items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(f"{name}: {doc['kind']}: {exc.message} at {list(exc.path)}")
    assert problems == []


def test_the_validation_does_catch_mistakes():
    deployment = _one("Deployment", "syncd")
    spelt = json.loads(json.dumps(deployment))
    _container(spelt)["livenesProbe"] = _container(spelt).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(spelt, KUBERNETES_VERSION, strict=True)
    typed = json.loads(json.dumps(deployment))
    typed["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typed, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_examples_and_the_job():
    kustomization = YAML(typ="safe").load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    listed = set(kustomization["resources"])
    on_disk = set(_all_manifests())
    # Secrets hold real values only the operator has; a Job cannot be re-applied changed.
    assert listed == on_disk - {"secret.example.yaml", "setup-job.yaml"}
    assert {"secret.example.yaml", "setup-job.yaml"} <= on_disk


# --- the production shape -------------------------------------------------------------------


def test_replicas_share_postgresql_and_a_disruption_budget_keeps_one():
    deployment = _one("Deployment", "syncd")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2, "a standby replica"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    pdb = _one("PodDisruptionBudget", "syncd")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= pdb["minAvailable"] < spec["replicas"], "a drain may take one replica, not both"
    # The state comes from the Secret and is required (no silent per-pod SQLite file).
    state = _secret_env(_container(deployment))["SYNCD_STATE_URL"]
    assert state["name"] == "syncd-secrets" and not state.get("optional")


def test_the_config_map_is_a_valid_config_on_postgresql_with_leases(k8s_config: Config):
    assert k8s_config.state.url.startswith("postgresql://"), "SYNCD_STATE_URL overrides it"
    assert k8s_config.state.lease_seconds >= 1
    assert k8s_config.ops.enabled and k8s_config.ops.host == "0.0.0.0"
    assert k8s_config.log.format == "json"


def test_probes_port_and_prometheus_annotations_match_what_syncd_serves(k8s_config: Config):
    deployment = _one("Deployment", "syncd")
    container = _container(deployment)
    (port,) = container["ports"]
    assert port["containerPort"] == k8s_config.ops.port
    probes = {kind: container[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert probe["port"] in (port["name"], port["containerPort"])
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(k8s_config.ops.port)
    # What those paths answer, asked of syncd's own ops server.
    served = metrics.Metrics()
    with OpsServer(served, ready_within(k8s_config), "127.0.0.1", 0) as server:

        def get(path: str) -> tuple[int, str, bytes]:
            try:
                with urllib.request.urlopen(server.url + path, timeout=5) as answer:
                    return answer.status, answer.headers["Content-Type"], answer.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.headers["Content-Type"], exc.read()

        assert get(probes["livenessProbe"]["path"])[:2] == (200, "text/plain; charset=utf-8")
        # Not ready before a cycle (503, with the reason); ready as a standby at once.
        status, kind, body = get(probes["readinessProbe"]["path"])
        assert (status, kind) == (503, "application/json") and json.loads(body)["reasons"]
        served.set_lease(False, "other-pod:1:abc")
        status, _, body = get(probes["readinessProbe"]["path"])
        assert status == 200 and json.loads(body)["role"] == "standby"
        status, kind, body = get(annotations["prometheus.io/path"])
        assert status == 200 and kind.startswith("text/plain; version=")
        assert b"syncd_lease_held 0.0" in body
        assert get("/nothing-here")[0] == 404, "the checks above can fail"


def test_the_environment_is_exactly_what_the_config_reads(k8s_config: Config):
    container = _container(_one("Deployment", "syncd"))
    env = _secret_env(container)
    # Every variable the mounted config names, whichever helpdesk kind it is switched to.
    read = {
        "SYNCD_STATE_URL",
        k8s_config.hubspot.token_env,
        ZendeskConfig.model_fields["token_env"].default,
        FreshdeskConfig.model_fields["api_key_env"].default,
        *k8s_config.notifications.slack.channels.values(),
        *k8s_config.notifications.webhooks.values(),
    }
    helpdesk = k8s_config.helpdesk
    read.add(helpdesk.token_env if isinstance(helpdesk, ZendeskConfig) else helpdesk.api_key_env)
    assert set(env) == read, "a variable the config reads is missing, or one nobody reads"
    assert {ref["name"] for ref in env.values()} == {"syncd-secrets"}
    assert all(ref["key"] == name for name, ref in env.items()), "key named as the variable"
    # Required: what every cycle needs; optional: the other helpdesk's and the Slack URLs
    # (a channel without one is turned off with one warning).
    required = {name for name, ref in env.items() if not ref.get("optional")}
    assert required == {"SYNCD_STATE_URL", k8s_config.hubspot.token_env}
    # The example Secret carries a value for every key the Deployment reads from it.
    example = _one("Secret", "syncd-secrets")["stringData"]
    assert set(env) - {"FRESHDESK_API_KEY"} <= set(example)
    # No secret in the ConfigMap, by value or by a key that holds one.
    assert not re.search(r"(?i)^\s*(token|api_key|password|webhook_url)\s*:", _config_text())


def test_mounts_match_the_config_paths_and_the_key_comes_from_a_secret(k8s_config: Config):
    deployment = _one("Deployment", "syncd")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}

    def volume_at(path: Path) -> dict[str, Any]:
        (mount_path,) = [m for m in mounts if path == Path(m) or Path(m) in path.parents]
        return volumes[mounts[mount_path]["name"]]

    config_arg = container["args"][container["args"].index("--config") + 1]
    assert container["args"][0] == "run"
    assert volume_at(Path(config_arg))["configMap"]["name"] == "syncd-config"
    assert Path(config_arg).name in _one("ConfigMap", "syncd-config")["data"]
    # Rules: the whole ConfigMap (no subPath, so an edit reaches the pods and reloads).
    rules = volume_at(k8s_config.rules.dir)
    assert rules["configMap"]["name"] == "syncd-rules"
    assert not any("subPath" in m for m in container["volumeMounts"])
    # The Google key: a file of the Secret, readable by the pod's group, at the config's path.
    key = k8s_config.sheets.credentials_file
    secret = volume_at(key)["secret"]
    assert secret["secretName"] == "syncd-google-key"
    assert [item["path"] for item in secret["items"]] == [key.name]
    assert secret["defaultMode"] & 0o040 and not secret["defaultMode"] & 0o007
    assert pod["securityContext"]["fsGroup"] == IMAGE_UID
    example = _one("Secret", "syncd-google-key")["stringData"]
    assert json.loads(example[secret["items"][0]["key"]])["type"] == "service_account"
    assert all(m.get("readOnly") for p, m in mounts.items() if p != "/tmp")


def test_pods_run_unprivileged_on_a_read_only_root_with_resources():
    for workload in (_one("Deployment", "syncd"), _one("Job", "syncd-setup")):
        pod = workload["spec"]["template"]["spec"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == IMAGE_UID
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        container = _container(workload)
        hardened = container["securityContext"]
        assert hardened["readOnlyRootFilesystem"] is True
        assert hardened["allowPrivilegeEscalation"] is False
        assert hardened["capabilities"]["drop"] == ["ALL"]
        # A read-only root still gets a writable /tmp (Python's tempfile).
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp and "emptyDir" in {v["name"]: v for v in pod["volumes"]}[tmp[0]["name"]]
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"])
        assert "memory" in resources["limits"]
    job = _container(_one("Job", "syncd-setup"))
    assert job["args"][0] == "setup"


def test_the_rules_config_map_is_a_rule_set_syncd_loads(tmp_path: Path):
    data = _one("ConfigMap", "syncd-rules")["data"]
    assert data and all(name.endswith(".yaml") and "/" not in name for name in data)
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    try:
        load_rules(tmp_path)
    except RuleError as exc:
        pytest.fail(
            f"deploy/kubernetes/rules-configmap.yaml no longer loads ({exc}); regenerate it: "
            "python deploy/kubernetes/rules-configmap.py > deploy/kubernetes/rules-configmap.yaml"
        )


def test_the_rules_config_map_generator_writes_loadable_yaml(tmp_path: Path):
    """deploy/kubernetes/rules-configmap.py renders a folder of rule files; the ConfigMap it
    writes carries each file's text unchanged."""
    import runpy

    module = runpy.run_path(str(K8S / "rules-configmap.py"))
    folder = tmp_path / "rules"
    folder.mkdir()
    texts = {
        "a.yaml": "name: A\n\n# comment\nlist:\n  - x: 'y'\n",
        "b.yaml": "no: trailing newline",
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
    (folder / "notes.md").write_text("not a rule file")
    (doc,) = YAML(typ="safe").load_all(module["render"](folder, "rules/"))
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert doc["data"] == texts


# --- the Grafana dashboard against /metrics ---------------------------------------------------

# What the dashboard must show (issue 15): the metric behind each.
DASHBOARD_MUST_SHOW = {
    "cycles": "syncd_cycles_total",
    "tickets pulled": "syncd_tickets_pulled_total",
    "records written": "syncd_records_written_total",
    "requests per API and outcome": "syncd_api_requests_total",
    "429s": "syncd_rate_limited_total",
    "circuit state": "syncd_circuit_state",
    "sink backlog": "syncd_sink_backlog",
    "dead letters": "syncd_dead_letters",
    "lease held": "syncd_lease_held",
    "cycle duration": "syncd_cycle_seconds_bucket",
}


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            queries.extend(t["expr"] for t in panel.get("targets", []))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def _metric_names(query: str) -> set[str]:
    return set(re.findall(r"\bsyncd_[a-z0-9_]+\b", query))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sandbox with a few tickets (replaces conftest's, which the `syncd` fixture uses)."""
    with Sandbox() as sb:
        sb.zendesk.generate(6)
        yield sb


def test_the_dashboard_queries_only_metrics_that_syncd_serves(syncd: Syncd, sandbox: Sandbox):
    # One real cycle, with HubSpot answering some requests 429 (Retry-After: 0), recorded as
    # the daemon records it; then /metrics as the ops server renders it.
    sandbox.faults.only = {"hubspot"}
    sandbox.faults.rate_limited_share = 1.0
    sandbox.faults.retry_after = 0
    sandbox.faults.rate = 0.5
    recorded = metrics.current()
    report = syncd.once()
    assert report.pulled == 6 and not report.failed_sinks
    recorded.record_cycle(report, 0.5, datetime.now(UTC))
    recorded.set_lease(True, "this-pod:1:abc")
    recorded.set_dead_letters(0)
    with (
        OpsServer(recorded, 300.0, "127.0.0.1", 0) as server,
        urllib.request.urlopen(server.url + "/metrics", timeout=5) as answer,
    ):
        text = answer.read().decode()
    served = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    assert 'syncd_rate_limited_total{api="hubspot"}' in text, "the 429s were counted"
    # Families with labels that no call of this cycle created (an open circuit's refusals)
    # serve no sample yet; their names follow from the family's type.
    for family in text_string_to_metric_families(text):
        if not family.samples and family.type == "counter":
            served.add(family.name + "_total")

    queries = _dashboard_queries()
    used = set().union(*map(_metric_names, queries))
    unknown = used - served
    assert not unknown, f"the dashboard queries metrics /metrics does not serve: {unknown}"
    missing = {what for what, name in DASHBOARD_MUST_SHOW.items() if name not in used}
    assert not missing, f"the dashboard does not show: {missing}"
    # The check has teeth: a misspelt metric would be caught.
    assert _metric_names("rate(syncd_cycle_total[5m])") - served


def test_the_dashboard_is_importable_grafana_json():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "syncd" and dashboard["schemaVersion"] >= 36
    ids = []
    for panel in dashboard["panels"]:
        ids.append(panel["id"])
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
            assert all(t["expr"].strip() for t in panel["targets"])
    assert len(ids) == len(set(ids)), "panel ids are unique"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    # Balanced brackets in every query: the cheap syntax check that needs no Prometheus.
    for query in _dashboard_queries():
        for opening, closing in ("()", "[]", "{}"):
            assert query.count(opening) == query.count(closing), query
