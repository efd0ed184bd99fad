"""The OpenAPI 3.1 document, merged at startup from every module of this package.

Each module may define ``PATHS``, ``SCHEMAS`` and ``TAGS`` (see
:mod:`gateway.openapi.common`). Two modules describing the same operation, or
the same schema differently, is a mistake caught when the gateway starts (and
by its tests), not a silent overwrite."""

from __future__ import annotations

import copy
import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from gateway.openapi import common

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenApiConflict(ValueError):
    """Two fragments claim the same operation or define one schema two ways."""


def fragments() -> Iterator[ModuleType]:
    """``common`` first, then every other module of the package by name."""
    yield common
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name != "common" and not info.name.startswith("_"):
            yield importlib.import_module(f"{__name__}.{info.name}")


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    tags: dict[str, dict[str, Any]] = {}
    owner: dict[tuple[str, str], str] = {}
    for module in fragments():
        source = module.__name__.rsplit(".", 1)[-1]
        for path, item in dict(getattr(module, "PATHS", {})).items():
            merged = paths.setdefault(path, {})
            for key, value in dict(item).items():
                if key in merged and (key in HTTP_METHODS or merged[key] != value):
                    raise OpenApiConflict(
                        f"{key.upper()} {path} is described by both "
                        f"{owner.get((path, key), '?')} and {source}"
                    )
                merged[key] = copy.deepcopy(value)
                owner[(path, key)] = source
        for name, schema in dict(getattr(module, "SCHEMAS", {})).items():
            if name in schemas and schemas[name] != schema:
                raise OpenApiConflict(f"schema {name!r} is defined differently by {source}")
            schemas[name] = copy.deepcopy(schema)
        for tag in getattr(module, "TAGS", ()):
            tags.setdefault(tag["name"], dict(tag))
    for path, item in paths.items():
        for method in HTTP_METHODS:
            if method in item:
                _add_gateway_guarantees(path, item[method])
                for tag in item[method].get("tags", ()):
                    tags.setdefault(tag, {"name": tag})
    order = {name: i for i, name in enumerate(common.TAG_ORDER)}
    components = copy.deepcopy(common.COMPONENTS)
    components["schemas"] = dict(sorted(schemas.items()))
    return {
        "openapi": common.OPENAPI_VERSION,
        "info": copy.deepcopy(common.INFO),
        "servers": copy.deepcopy(common.SERVERS),
        "security": [{"bearerAuth": []}],
        "tags": sorted(tags.values(), key=lambda t: (order.get(t["name"], len(order)), t["name"])),
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


def _add_gateway_guarantees(path: str, op: dict[str, Any]) -> None:
    """Every authenticated /api operation may also get the gateway's answers,
    and every answer carries the rate-limit headers."""
    responses: dict[str, Any] = op.setdefault("responses", {})
    authenticated = path.startswith("/api/") and op.get("security") != []
    if authenticated:
        for status in common.GATEWAY_ERRORS:
            responses.setdefault(str(status), common.error_ref(status))
    for response in responses.values():
        if isinstance(response, dict) and "$ref" not in response and authenticated:
            headers = response.setdefault("headers", {})
            for name, header in common.HEADER_REFS.items():
                headers.setdefault(name, dict(header))
