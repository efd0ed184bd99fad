"""docker-compose.yml describes the same system as deploy/processes.py, and
`make run` explains a missing backing service (the Kubernetes manifests:
test_kubernetes.py)."""

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


def test_compose_publishes_only_the_proxy_that_the_processes_trust() -> None:
    services = compose()["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["8000:8000", "8080:8080"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    for name in ("gateway", "edge"):
        assert services[name]["environment"]["TRUSTED_PROXY_HOPS"] == "1"
