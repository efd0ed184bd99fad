"""Render this repository's kustomizations (deploy/k8s) without kubectl.

Operators use ``kubectl apply -k deploy/k8s/overlays/production``; the test
suite (and a machine without kubectl) renders the same output with this
module: ``python -m deploy.kustomize deploy/k8s/overlays/production``. It
implements the part of kustomize those files use, and refuses anything else
rather than render it differently (tests/deploy compares its output with
``kubectl kustomize`` where kubectl is installed):

- ``resources``: YAML files and directories holding a kustomization;
- ``namespace``: set on every namespaced object;
- ``images``: ``newName`` / ``newTag`` of the containers' images;
- ``replicas``: a Deployment's ``spec.replicas``;
- ``patches``: strategic-merge patches from files, applied to the object of
  the same kind and name (lists of containers, env, volumes, ports... merge
  by their key; other lists are replaced; ``null`` removes a field);
- ``configMapGenerator`` / ``secretGenerator`` from ``envs`` files and
  ``literals``, with ``behavior`` create, merge or replace and
  ``disableNameSuffixHash: true`` (hashed names are not supported)."""

from __future__ import annotations

import base64
import copy
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

Doc = dict[str, Any]

SUPPORTED: Final = frozenset(
    {
        "apiVersion",
        "kind",
        "namespace",
        "resources",
        "images",
        "replicas",
        "patches",
        "configMapGenerator",
        "secretGenerator",
    }
)
# Strategic merge: the lists of the Kubernetes API whose items merge by a key.
MERGE_KEYS: Final = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}
CLUSTER_SCOPED: Final = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
)
WORKLOADS: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


class KustomizeError(ValueError):
    """A kustomization this renderer cannot render as kustomize would."""


def render(directory: Path) -> list[Doc]:
    """The objects ``kubectl kustomize directory`` would output."""
    directory = Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: unsupported fields {sorted(unknown)}")
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            docs += render(path)
        else:
            docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for kind, field in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in kustomization.get(field, []):
            _generate(docs, directory, kind, generator)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{directory}: only patches given by path are supported")
        for change in yaml.safe_load_all((directory / patch["path"]).read_text()):
            if change:
                _patch(docs, change)
    for image in kustomization.get("images", []):
        for container in _containers(docs):
            _retag(container, image)
    for replicas in kustomization.get("replicas", []):
        _find(docs, "Deployment", replicas["name"])["spec"]["replicas"] = replicas["count"]
    namespace = kustomization.get("namespace")
    if namespace:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = namespace
    return docs


def _find(docs: list[Doc], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise KustomizeError(f"no {kind} named {name!r} to change")


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise KustomizeError(f"{path}: {line!r} is not NAME=value")
        values[name.strip()] = value
    return values


def _generate(docs: list[Doc], directory: Path, kind: str, generator: Mapping[str, Any]) -> None:
    if not (generator.get("options") or {}).get("disableNameSuffixHash"):
        raise KustomizeError(f"{generator['name']}: set options.disableNameSuffixHash: true")
    values: dict[str, str] = {}
    for env in generator.get("envs", []):
        values |= _env_file(directory / env)
    for literal in generator.get("literals", []):
        name, _, value = literal.partition("=")
        values[name] = value
    if kind == "Secret":
        data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
    else:
        data = dict(values)
    behavior = generator.get("behavior", "create")
    if behavior == "create":
        made: Doc = {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": generator["name"]},
            "data": data,
        }
        if kind == "Secret":
            made["type"] = "Opaque"
        docs.append(made)
        return
    existing = _find(docs, kind, generator["name"])
    if behavior == "replace":
        for field in ("data", "stringData", "binaryData"):
            existing.pop(field, None)
        existing["data"] = data
    elif behavior == "merge":
        if existing.get("stringData"):
            raise KustomizeError(f"{generator['name']}: merge into stringData is not supported")
        existing["data"] = {**(existing.get("data") or {}), **data}
    else:
        raise KustomizeError(f"{generator['name']}: unknown behavior {behavior!r}")
    if kind == "Secret":
        existing.setdefault("type", "Opaque")


def _patch(docs: list[Doc], change: Doc) -> None:
    target = _find(docs, change["kind"], change["metadata"]["name"])
    merged = merge(target, change)
    target.clear()
    target.update(merged)


def merge(base: Any, patch: Any, key: str | None = None) -> Any:
    """``patch`` merged into ``base`` as a strategic-merge patch would."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for name, value in patch.items():
            if value is None:
                out.pop(name, None)
            elif name in out:
                out[name] = merge(out[name], value, name)
            else:
                out[name] = copy.deepcopy(value)
        return out
    merge_key = MERGE_KEYS.get(key or "")
    if isinstance(base, list) and isinstance(patch, list) and merge_key:
        out_list = copy.deepcopy(base)
        for item in patch:
            match = next(
                (i for i, old in enumerate(out_list) if old[merge_key] == item[merge_key]), None
            )
            if match is None:
                out_list.append(copy.deepcopy(item))
            else:
                out_list[match] = merge(out_list[match], item)
        return out_list
    return copy.deepcopy(patch)


def _containers(docs: list[Doc]) -> Iterator[Doc]:
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            yield from pod.get("initContainers", [])
            yield from pod.get("containers", [])


def _retag(container: Doc, image: Mapping[str, str]) -> None:
    current = container["image"]
    name, digest = current.split("@", 1) if "@" in current else (current, None)
    repository, tag = name, None
    if ":" in name.rsplit("/", 1)[-1]:
        repository, tag = name.rsplit(":", 1)
    if repository != image["name"]:
        return
    repository = image.get("newName", repository)
    tag = image.get("newTag", tag)
    container["image"] = repository + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m deploy.kustomize DIRECTORY\n")
        return 2
    sys.stdout.write(yaml.safe_dump_all(render(Path(args[0])), sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
