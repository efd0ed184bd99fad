"""The environment the shipped deployments give a process (the Kubernetes
manifests and docker-compose.yml), so tests can run a process as deployed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ("kubernetes", "compose")


def _k8s_docs() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def kubernetes_env(name: str) -> dict[str, str]:
    """The ConfigMap's values plus the env of Deployment ``name``'s container."""
    docs = _k8s_docs()
    env: dict[str, str] = {}
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            env.update({k: str(v) for k, v in doc["data"].items()})
    deployment = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env.update({e["name"]: str(e["value"]) for e in container.get("env", [])})
    return env


def compose_env(name: str) -> dict[str, str]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {k: str(v) for k, v in data["services"][name]["environment"].items()}


def deployed_env(deployment: str, name: str) -> dict[str, str]:
    return kubernetes_env(name) if deployment == "kubernetes" else compose_env(name)
