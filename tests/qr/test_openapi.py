"""The OpenAPI fragment describes exactly the QR endpoints the links service
serves, and the merged document resolves every reference it uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway.openapi import build_document, qr
from services.links.app import create_app
from shared.settings import Settings


def served_qr_operations() -> set[tuple[str, str]]:
    app = create_app(Settings())
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/qr") and route.method != "HEAD":
            found.add((route.method.lower(), path))
    return found


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


def test_every_served_qr_endpoint_is_described_and_nothing_else() -> None:
    described = {(method, path) for path, item in qr.PATHS.items() for method in item}
    assert served_qr_operations() == described


def test_the_merged_document_resolves_every_reference_of_the_fragment() -> None:
    document = build_document()
    for path, item in qr.PATHS.items():
        assert document["paths"][path].keys() >= item.keys()
        for op in item.values():
            assert op["security"] == [{"bearerAuth": []}]
            assert op["tags"] == ["QR codes"]
            assert "example" in op["responses"]["200"]["content"]["application/json"]
    for target in refs(document["paths"]):
        section, _, name = target.removeprefix("#/components/").partition("/")
        assert name in document["components"][section], target
    assert any(tag["name"] == "QR codes" for tag in document["tags"])
