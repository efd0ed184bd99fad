"""The environment the shipped deployments give a process (the Kubernetes
manifests and docker-compose.yml), so tests can run a process as deployed."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ("kubernetes", "compose")


K8S = ROOT / "deploy" / "k8s"
OVERLAYS = tuple(sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir()))


def k8s_docs(overlay: str | None = "production") -> list[dict[str, Any]]:
    """What ``kubectl kustomize`` renders for ``overlay`` (``None``: the base)."""
    return render(K8S / "overlays" / overlay if overlay else K8S / "base")


def kubernetes_env(name: str, overlay: str | None = "production") -> dict[str, str]:
    """What Deployment ``name``'s container gets: the ConfigMaps and Secrets it
    takes with envFrom (Secrets decoded), then its own env."""
    docs = k8s_docs(overlay)
    deployment = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name
    )
    return container_env(docs, deployment["spec"]["template"]["spec"]["containers"][0])


def container_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            found = _named(docs, "ConfigMap", source["configMapRef"]["name"])
            env.update({k: str(v) for k, v in found.get("data", {}).items()})
        else:
            found = _named(docs, "Secret", source["secretRef"]["name"])
            env.update({k: str(v) for k, v in found.get("stringData", {}).items()})
            env.update({k: base64.b64decode(v).decode() for k, v in found.get("data", {}).items()})
    env.update({e["name"]: str(e["value"]) for e in container.get("env", [])})
    return env


def _named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def compose_env(name: str) -> dict[str, str]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {k: str(v) for k, v in data["services"][name]["environment"].items()}


def deployed_env(deployment: str, name: str) -> dict[str, str]:
    return kubernetes_env(name) if deployment == "kubernetes" else compose_env(name)
