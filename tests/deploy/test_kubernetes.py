"""deploy/k8s: a kustomize base and overlays. Every overlay renders (with the
repository's renderer, the same as ``kubectl kustomize`` where kubectl is
installed) to objects the Kubernetes schemas accept; every process of
deploy/processes.py has its Deployment with probes on its own port; every
variable the code reads is set or deliberately left at its default."""

from __future__ import annotations

import ast
import base64
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from deploy.kustomize import KustomizeError, merge, render
from deploy.processes import PROCESSES
from shared.settings import Settings
from tests.support.deployed import K8S, OVERLAYS, ROOT, container_env, k8s_docs

Doc = dict[str, Any]
# The oldest Kubernetes release the manifests target, and the newest the
# validator knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
RENDERED = (None, *OVERLAYS)  # None: the base alone

# Read by the code and left at its default on purpose in every deployment:
# each default is what a Kubernetes install wants (README, "Configuration").
LEFT_AT_DEFAULT = {
    "GEOIP_DB": "no database in the image: countries come from TRUSTED_COUNTRY_HEADER",
    "MAX_BODY_BYTES": "1 MB request bodies",
    "UPSTREAM_CONNECT_TIMEOUT": "the gateway's connect timeout to a service (2 s)",
    "UPSTREAM_TIMEOUT": "10 s, under the Ingress's and HAProxy's 15 s",
    "RATE_LIMIT_CAPACITY": "the bucket of a plan that sets none",
    "RATE_LIMIT_WINDOW": "the bucket of a plan that sets none",
    "ADMIN_RATE_LIMIT_CAPACITY": "admins are not rate limited unless an operator says so",
    "EDGE_FAST_CORE": "on: cached direct redirects answered by the fast core",
    "EDGE_PROCESSES": "one process a pod: Kubernetes scales the edge by replicas",
    "PRINCIPAL_CACHE_TTL": "a key's principal cached 60 s (changes evict it at once)",
    "AUTH_FAILURE_LIMIT": "20 failed keys per client a minute",
    "CLICK_BATCH_SIZE": "the edge's batch to the broker",
    "CLICK_FLUSH_INTERVAL": "0.2 s: what an edge killed with SIGKILL can lose",
    "LINK_CACHE_SIZE": "200,000 snapshots fit the edge's memory limit",
    "NEGATIVE_CACHE_TTL": "a missing alias is asked for again after 2 s",
    "NEGATIVE_CACHE_SIZE": "remembered misses per kind",
    "DOMAIN_MISS_TTL": "an unknown Host is asked for again after 60 s",
    "ALLOW_PRIVATE_FETCH": "off: never fetch private addresses in production",
    "ALLOW_PRIVATE_WEBHOOKS": "off: never deliver to private addresses in production",
    "QR_LOGO_DIR": "unset: QR logos only by URL",
    "QR_CACHE_TTL": "rendered QR images cached a day",
    "ANALYTICS_TIMEOUT": "2 s before a stats call answers 503",
    "DNS_RESOLVER": "the pod's resolver checks domain TXT records",
    "DOMAIN_VERIFY_INTERVAL": "unverified domains checked every 5 minutes",
    "ANALYTICS_BATCH_SIZE": "the worker's batch",
    "ANALYTICS_BATCH_WAIT": "the worker's batch",
    "ANALYTICS_PREFETCH": "the worker's unacknowledged messages",
    "ANALYTICS_PURGE_INTERVAL": "old clicks purged hourly",
    "WEBHOOK_TIMEOUT": "10 s per delivery",
    "WEBHOOK_CONCURRENCY": "requests in flight per delivery process",
    "WEBHOOK_ENDPOINT_CONCURRENCY": "requests in flight per endpoint",
    "WEBHOOK_RETRY_BASE": "the retry schedule",
    "WEBHOOK_RETRY_MAX": "the retry schedule",
    "WEBHOOK_RETRY_WINDOW": "the retry schedule",
    "WEBHOOK_POLL_INTERVAL": "the delivery schedule's poll",
}
# Set only on the process that reads it (a port of its own, the edge's spool).
PER_PROCESS = {
    "GATEWAY_OPS_PORT": "gateway",
    "EDGE_OPS_PORT": "edge",
    "SPOOL_DIR": "edge",
    "WORKER_METRICS_PORT": "worker",
    "WEBHOOK_DELIVERY_PORT": "webhook-delivery",
}
# Modules that read the environment: the settings, and the two that hand their
# whole environment to children (the local runner, the edge's extra processes).
ENVIRONMENT_READERS = {
    "shared/settings.py",
    "deploy/run_local.py",
    "services/links/edge/processes.py",
}


def rendered_id(overlay: str | None) -> str:
    return overlay or "base"


def by_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def container(doc: Doc) -> Doc:
    spec: Doc = doc["spec"]["template"]["spec"]["containers"][0]
    return spec


def names_the_settings_read() -> set[str]:
    """Every NAME in ``e.get("NAME")`` / ``_int(e, "NAME", ...)`` of Settings.from_env."""
    tree = ast.parse((ROOT / "shared" / "settings.py").read_text())
    from_env = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "from_env"
    )
    return {
        arg.value
        for node in ast.walk(from_env)
        if isinstance(node, ast.Call)
        for arg in node.args
        if isinstance(arg, ast.Constant)
        and isinstance(arg.value, str)
        and re.fullmatch(r"[A-Z][A-Z0-9_]*[A-Z0-9]", arg.value)
    }


def image_env() -> dict[str, str]:
    """The ENV lines of deploy/Dockerfile (what every container starts with)."""
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            found |= dict(pair.split("=", 1) for pair in line[4:].split())
    return found


@pytest.mark.parametrize("overlay", RENDERED, ids=rendered_id)
def test_every_rendered_object_is_valid_for_kubernetes(overlay: str | None) -> None:
    docs = k8s_docs(overlay)
    for version in KUBERNETES_VERSIONS:
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(
                    f"{doc['kind']}/{doc['metadata']['name']} ({version}): {exc.message}"
                ) from exc


def _decoded(doc: Doc) -> Doc:
    if doc["kind"] == "Secret" and "data" in doc:
        doc = {**doc, "data": {k: base64.b64decode(v) for k, v in doc["data"].items()}}
    return doc


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("overlay", RENDERED, ids=rendered_id)
def test_the_renderer_agrees_with_kubectl_kustomize(overlay: str | None) -> None:
    directory = K8S / "overlays" / overlay if overlay else K8S / "base"
    out = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {(d["kind"], d["metadata"]["name"]): _decoded(d) for d in yaml.safe_load_all(out)}
    ours = {(d["kind"], d["metadata"]["name"]): _decoded(d) for d in render(directory)}
    assert ours == theirs


@pytest.mark.parametrize("overlay", RENDERED, ids=rendered_id)
def test_a_deployment_per_process_with_probes_on_its_own_port(overlay: str | None) -> None:
    docs = k8s_docs(overlay)
    deployments, services = by_kind(docs, "Deployment"), by_kind(docs, "Service")
    assert set(deployments) == {spec.name for spec in PROCESSES}
    for spec in PROCESSES:
        pod = container(deployments[spec.name])
        assert pod["command"] == ["python", "-m", spec.module]
        assert spec.port_env is not None
        assert spec.default_port is not None
        port = int(container_env(docs, pod).get(spec.port_env, spec.default_port))
        declared = {p["containerPort"] for p in pod["ports"]}
        ready, live = pod["readinessProbe"], pod["livenessProbe"]
        # /ready: can serve now (never "every dependency is up"); /health: the
        # process answers. Both on the port the process serves them on.
        assert ready["httpGet"] == {"path": "/ready", "port": port}, spec.name
        assert live["httpGet"] == {"path": "/health", "port": port}, spec.name
        assert port in declared, spec.name
        # A dependency outage never restarts pods: a minute of silence first.
        assert live["periodSeconds"] * live["failureThreshold"] >= 60, spec.name
        assert ready["periodSeconds"] * ready["failureThreshold"] <= 10, spec.name
        if spec.name in services:  # what the Service sends to is that port
            assert [p["targetPort"] for p in services[spec.name]["spec"]["ports"]] == [port]
        resources = pod["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), spec.name
        assert "memory" in resources["limits"], spec.name


def _mebibytes(quantity: str) -> int:
    assert quantity.endswith("Mi"), quantity
    return int(quantity[:-2])


def test_memory_requests_cover_the_measured_resident_size() -> None:
    """Requests from RSS measured by the cluster test (README, "Scaling"): every
    process 54-72 MB resident after load, the edge 133 MB with 100,000 links
    cached. A request covers that with room; a limit at least doubles it."""
    measured = {"edge": 133}
    for name, deployment in by_kind(k8s_docs(None), "Deployment").items():
        resources = container(deployment)["resources"]
        request = _mebibytes(resources["requests"]["memory"])
        assert request >= 1.25 * measured.get(name, 72), name
        assert _mebibytes(resources["limits"]["memory"]) >= 2 * measured.get(name, 72), name


@pytest.mark.parametrize("overlay", RENDERED, ids=rendered_id)
def test_autoscalers_for_the_gateway_and_edge_and_a_disruption_budget_for_the_edge(
    overlay: str | None,
) -> None:
    docs = k8s_docs(overlay)
    deployments = by_kind(docs, "Deployment")
    autoscalers = by_kind(docs, "HorizontalPodAutoscaler")
    assert {"gateway", "edge"} <= set(autoscalers)
    for name, hpa in autoscalers.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", name)
        assert name in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        # CPU utilisation needs a CPU request to be measured against
        assert "cpu" in container(deployments[name])["resources"]["requests"]
    budget = by_kind(docs, "PodDisruptionBudget")["edge"]
    edge_labels = deployments["edge"]["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= edge_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("overlay", RENDERED, ids=rendered_id)
def test_the_migration_job_runs_the_same_image_and_configuration(overlay: str | None) -> None:
    docs = k8s_docs(overlay)
    job = by_kind(docs, "Job")["shortener-migrate"]
    pod = container(job)
    assert pod["command"] == ["python", "-m", "shared.migrations"]
    images = {container(d)["image"] for d in by_kind(docs, "Deployment").values()}
    assert images == {pod["image"]}
    assert pod["envFrom"] == container(by_kind(docs, "Deployment")["links"])["envFrom"]


@pytest.mark.parametrize("overlay", RENDERED, ids=rendered_id)
def test_every_variable_the_code_reads_is_set_or_left_at_its_default(
    overlay: str | None,
) -> None:
    read = names_the_settings_read()
    assert "DATABASE_URL" in read
    assert "AMQP_QUORUM_QUEUES" in read
    docs = k8s_docs(overlay)
    workloads = {**by_kind(docs, "Deployment"), **by_kind(docs, "Job")}
    envs = {name: image_env() | container_env(docs, container(d)) for name, d in workloads.items()}
    set_anywhere = {name for env in envs.values() for name in env}
    baked = set(image_env())
    # Nothing is set that the code does not read (a typo would be silently ignored).
    python = {n for n in baked if n.startswith(("PYTHON", "PIP_"))}
    assert set_anywhere - python <= read, set_anywhere - python - read
    # Everything read is set, or deliberately left at its default, never both.
    assert read - set_anywhere == set(LEFT_AT_DEFAULT), read - set_anywhere ^ set(LEFT_AT_DEFAULT)
    for name in read & set_anywhere:
        owner = PER_PROCESS.get(name)
        for workload, env in envs.items():
            if owner is None or owner == workload:
                assert name in env, f"{workload} lacks {name}"
    # As deployed, each process reads what the manifests say and is not in DEV_MODE.
    for workload, env in envs.items():
        settings = Settings.from_env(env)
        assert not settings.dev_mode, workload
        assert settings.host == "0.0.0.0", workload  # reachable by its Service
        assert settings.accounts_url == "http://accounts:8101", workload


def test_no_module_reads_the_environment_but_the_settings() -> None:
    readers = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/")):
            continue
        text = path.read_text()
        if re.search(r"\bos\.environ\b|\bgetenv\(|\bfrom os import environ\b", text):
            readers.add(relative)
    assert readers == ENVIRONMENT_READERS


def test_production_sets_what_an_operator_changes() -> None:
    docs = k8s_docs("production")
    env = container_env(docs, container(by_kind(docs, "Deployment")["edge"]))
    settings = Settings.from_env(env)
    assert settings.amqp_quorum_queues
    assert settings.trusted_proxy_hops == 1
    assert settings.domain_verification
    hosts = {rule["host"] for rule in by_kind(docs, "Ingress")["shortener"]["spec"]["rules"]}
    assert settings.public_host in hosts  # the short domain reaches the edges
    for deployment in by_kind(docs, "Deployment").values():
        assert not container(deployment)["image"].endswith(":latest")
    # The placeholder secrets.env can never run: every process refuses it.
    assert settings.internal_secret_problem() is not None
    assert by_kind(docs, "Deployment")["edge"]["spec"]["replicas"] >= 3


def test_strategic_merge_keys_and_refusals() -> None:
    base = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "args": ["x"]}
    patch = {"env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}], "args": ["y"]}
    assert merge(base, patch) == {
        "env": [
            {"name": "A", "value": "1"},
            {"name": "B", "value": "3"},
            {"name": "C", "value": "4"},
        ],
        "args": ["y"],
    }
    assert merge({"a": 1, "b": 2}, {"b": None}) == {"a": 1}


def test_unsupported_kustomize_fields_are_refused(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path)
