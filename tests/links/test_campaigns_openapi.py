"""The OpenAPI fragments of campaigns, channels, pixels, splash pages and CTA
overlays describe exactly the endpoints the links service serves for them, with
examples and errors, and their references resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gateway.openapi import build_document, campaigns, channels, common, pages, pixels
from services.links.app import create_app
from shared.settings import Settings

FRAGMENTS = (campaigns, channels, pixels, pages)
PREFIXES = ("/api/campaign", "/api/channel", "/api/pixel", "/api/splash", "/api/overlay")


def served_operations() -> set[tuple[str, str]]:
    app = create_app(Settings())
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith(PREFIXES) and route.method != "HEAD":
            found.add((route.method.lower(), path))
    return found


def described_operations() -> set[tuple[str, str]]:
    return {
        (method, path)
        for fragment in FRAGMENTS
        for path, item in fragment.PATHS.items()
        for method in item
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
    for fragment in FRAGMENTS:
        for path, item in fragment.PATHS.items():
            for method, op in item.items():
                for name in re.findall(r"{(\w+)}", path):
                    assert any(p.get("name") == name for p in op["parameters"]), path
                assert op["security"] == [{"bearerAuth": []}], (method, path)
                ok = op["responses"]["200"]["content"]["application/json"]
                assert "example" in ok, (method, path)
                if method in ("post", "put"):
                    assert "example" in op["requestBody"]["content"]["application/json"]
                assert [code for code in op["responses"] if code != "200"], (method, path)


def test_published_messages_are_the_examples() -> None:
    document = build_document()
    expected = {
        ("/api/campaign/{id}/delete", "delete"): "Campaign has been deleted successfully.",
        (
            "/api/campaign/{campaignid}/assign/{linkid}",
            "post",
        ): "Link successfully added to the campaign.",
        (
            "/api/channel/{channelid}/assign/{type}/{itemid}",
            "post",
        ): "Item successfully added to the channel.",
        ("/api/channel/{id}/update", "put"): "Channel has been updated successfully.",
        ("/api/channel/{id}/delete", "delete"): "Channel has been deleted successfully.",
        ("/api/pixel/{id}/update", "put"): "Pixel has been updated successfully.",
        ("/api/pixel/{id}/delete", "delete"): "Pixel has been deleted successfully.",
        ("/api/splash/{id}/update", "put"): "Splash page has been updated successfully.",
        ("/api/overlay/{id}/delete", "delete"): "CTA overlay has been deleted successfully.",
    }
    for (path, method), text in expected.items():
        ok = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert ok["example"] == {"error": 0, "message": text}


def test_references_resolve_and_fragments_merge() -> None:
    schemas = dict(common.SCHEMAS)
    for fragment in FRAGMENTS:
        schemas.update(fragment.SCHEMAS)
    components: dict[str, Any] = {**common.COMPONENTS, "schemas": schemas}
    for fragment in FRAGMENTS:
        for target in set(refs(fragment.PATHS)) | set(refs(fragment.SCHEMAS)):
            assert target.startswith("#/components/"), target
            node: Any = components
            for part in target.removeprefix("#/components/").split("/"):
                assert part in node, target
                node = node[part]
    document = build_document()
    for method, path in described_operations():
        assert method in document["paths"][path]
    assert {"Campaigns", "Channels", "Pixels", "Splash pages", "CTA overlays"} <= {
        t["name"] for t in document["tags"]
    }
