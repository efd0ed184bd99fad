"""docker-compose.yml and the Kubernetes manifests describe the same system as
deploy/processes.py, and `make run` explains a missing backing service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from deploy.processes import PROCESSES
from deploy.run_local import check_backing_services
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_runs_every_process_from_one_image() -> None:
    services = compose()["services"]
    modules = {
        svc["command"][2]: name
        for name, svc in services.items()
        if isinstance(svc.get("command"), list) and svc["command"][:2] == ["python", "-m"]
    }
    for spec in PROCESSES:
        assert spec.module in modules, f"{spec.name} missing from docker-compose.yml"
        assert services[modules[spec.module]]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_compose_backing_services_have_health_checks_and_migrate_runs_once() -> None:
    services = compose()["services"]
    for name in ("postgres", "redis", "rabbitmq"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"] == ["python", "-m", "shared.migrations"]
    gateway_deps = services["gateway"]["depends_on"]
    assert gateway_deps["migrate"]["condition"] == "service_completed_successfully"
    assert gateway_deps["postgres"]["condition"] == "service_healthy"


def test_kubernetes_has_a_deployment_per_process() -> None:
    deployments: dict[str, list[str]] = {}
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Deployment":
                container = doc["spec"]["template"]["spec"]["containers"][0]
                deployments[doc["metadata"]["name"]] = container["command"]
    for spec in PROCESSES:
        assert deployments[spec.name] == ["python", "-m", spec.module]


def test_dockerfile_copies_the_code_every_process_needs() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    for folder in ("shared", "gateway", "services"):
        assert f"COPY {folder} ./{folder}" in text
    assert "requirements.txt" in text


def test_unreachable_backing_service_is_named_with_how_to_start_it() -> None:
    settings = Settings().with_overrides(
        redis_url="redis://127.0.0.1:1/0", amqp_url="amqp://guest:secret@127.0.0.1:2/"
    )
    problems = check_backing_services(settings)
    assert len(problems) == 2
    assert "Redis is not reachable at redis://127.0.0.1:1/0" in problems[0]
    assert "redis-server --daemonize yes" in problems[0]
    assert "RabbitMQ is not reachable at amqp://127.0.0.1:2/" in problems[1]
    assert "secret" not in problems[1]  # credentials are not printed
    assert "rabbitmq-server -detached" in problems[1]


def test_make_run_with_postgres_down_says_so_without_a_traceback() -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-m", "deploy.run_local"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PostgreSQL is not reachable at postgresql://127.0.0.1:1/nothing" in result.stderr
    assert "pg_ctlcluster" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_internet_facing_processes_are_scraped_on_their_ops_port() -> None:
    docs = [
        doc
        for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    compose_services = compose()["services"]
    for name, public, env in (
        ("gateway", 8000, "GATEWAY_OPS_PORT"),
        ("edge", 8080, "EDGE_OPS_PORT"),
    ):
        deployment = next(
            d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name
        )
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        ops = int({e["name"]: e["value"] for e in container["env"]}[env])
        assert ops != public
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(ops)
        assert {p["containerPort"] for p in container["ports"]} == {public, ops}
        # the Service (what the Ingress reaches) carries the public port only
        assert [p["targetPort"] for p in services[name]["spec"]["ports"]] == [public]
        assert int(compose_services[name]["environment"][env]) == ops
        assert str(ops) not in " ".join(compose_services[name].get("ports", []))


def test_compose_publishes_only_the_proxy_that_the_processes_trust() -> None:
    services = compose()["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["8000:8000", "8080:8080"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    for name in ("gateway", "edge"):
        assert services[name]["environment"]["TRUSTED_PROXY_HOPS"] == "1"


def test_kubernetes_probes_never_restart_or_unroute_pods_for_a_dependency() -> None:
    """Readiness is /ready (can serve), liveness /health (the process answers), each
    on a port the container declares; liveness tolerates a minute of silence."""
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc["kind"] != "Deployment":
                continue
            container = doc["spec"]["template"]["spec"]["containers"][0]
            ports = {p["containerPort"] for p in container["ports"]}
            ready, live = container["readinessProbe"], container["livenessProbe"]
            assert ready["httpGet"]["path"] == "/ready", doc["metadata"]["name"]
            assert live["httpGet"]["path"] == "/health", doc["metadata"]["name"]
            assert {ready["httpGet"]["port"], live["httpGet"]["port"]} <= ports
            assert live["periodSeconds"] * live["failureThreshold"] >= 60
