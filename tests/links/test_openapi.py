"""The OpenAPI fragment describes exactly the links endpoints, and its references resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gateway.openapi import build_document, common, links
from services.links.app import create_app
from shared.settings import Settings


def served_operations() -> set[tuple[str, str]]:
    app = create_app(Settings())
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method != "HEAD":
            found.add((route.method.lower(), path))
    return found


def described_operations() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in links.PATHS.items()
        for method in item
        if method in ("get", "post", "put", "delete")
    }


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_every_served_endpoint_is_described_and_nothing_else() -> None:
    assert served_operations() == described_operations()


def test_operations_are_secured_with_examples_and_errors() -> None:
    for path, item in links.PATHS.items():
        for params in re.findall(r"{(\w+)}", path):
            for op in item.values():
                assert any(p.get("name") == params for p in op["parameters"]), path
        for method, op in item.items():
            assert op["security"] == [{"bearerAuth": []}], (method, path)
            ok = op["responses"]["200"]
            media = next(iter(ok["content"].values()))
            assert "example" in media or "schema" in media, (method, path)
            if ok["content"].get("application/json"):
                assert "example" in ok["content"]["application/json"], (method, path)
            if method in ("post", "put"):
                assert "requestBody" in op, (method, path)
                assert "example" in op["requestBody"]["content"]["application/json"]
            error_answers = [r for code, r in op["responses"].items() if code != "200"]
            assert error_answers, (method, path)


def test_references_resolve() -> None:
    components: dict[str, Any] = {
        **common.COMPONENTS,
        "schemas": {**common.SCHEMAS, **links.SCHEMAS},
    }
    for target in set(refs(links.PATHS)) | set(refs(links.SCHEMAS)):
        assert target.startswith("#/components/"), target
        node: Any = components
        for part in target.removeprefix("#/components/").split("/"):
            assert part in node, target
            node = node[part]
    # Errors end in the shared Error schema.
    assert "#/components/schemas/Error" in set(refs(links.PATHS)) | set(
        refs(common.COMPONENTS["responses"])
    )


def test_fragment_merges_into_the_gateway_document() -> None:
    document = build_document()
    for method, path in described_operations():
        assert method in document["paths"][path]
    assert {"Links", "Branded domains"} <= {t["name"] for t in document["tags"]}
