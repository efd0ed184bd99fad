"""The OpenAPI fragment describes exactly the accounts service's public endpoints,
with examples in the published shapes, and merges into the gateway's document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gateway.openapi import accounts, build_document
from services.accounts.app import create_app
from shared.settings import Settings
from tests.support.principals import BUSINESS_LIMITS, STARTER_LIMITS

METHODS = ("get", "post", "put", "delete")


def served_operations() -> set[tuple[str, str]]:
    app = create_app(Settings())
    found = set()
    for route in app.router.routes():
        resource = route.resource
        path = resource.canonical if resource is not None else ""
        # the catch-all under /v1 only answers "unknown method"
        if path.startswith(("/api/", "/v1/add-contact")) and route.method in (
            "GET",
            "POST",
            "PUT",
            "DELETE",
        ):
            found.add((route.method.lower(), re.sub(r"{(\w+):[^}]+}", r"{\1}", path)))
    return found


def described_operations() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in accounts.PATHS.items()
        for method in item
        if method in METHODS
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


def test_operations_have_parameters_security_and_examples() -> None:
    for path, item in accounts.PATHS.items():
        for method, op in item.items():
            names = {p.get("name") for p in op.get("parameters", [])}
            for param in re.findall(r"{(\w+)}", path):
                assert param in names, (method, path, param)
            expected: list[dict[str, list[str]]] = (
                [] if path.startswith("/v1/") else [{"bearerAuth": []}]
            )
            assert op["security"] == expected, (method, path)
            media = op["responses"]["200"]["content"]["application/json"]
            assert "example" in media, (method, path)
            assert media["example"].get("error", 0) == 0 or "response" in media["example"]


def test_examples_use_the_published_shapes() -> None:
    plans = accounts.PATHS["/api/plans"]["get"]["responses"]["200"]["content"]
    example = plans["application/json"]["example"]
    assert example["data"][0]["limits"] == BUSINESS_LIMITS
    assert example["data"][1]["limits"] == STARTER_LIMITS
    regenerate = accounts.PATHS["/api/account/apikey/regenerate"]["post"]["responses"]["200"]
    assert list(regenerate["content"]["application/json"]["example"]) == ["error", "apikey"]
    v1 = accounts.PATHS["/v1/add-contact/json"]["post"]["responses"]
    assert set(v1) == {"200", "400", "401", "404", "463", "472", "473"}


def test_merges_into_the_gateway_document_and_references_resolve() -> None:
    document = build_document()
    for path in accounts.PATHS:
        assert path in document["paths"]
    for ref in refs({"paths": accounts.PATHS, "schemas": accounts.SCHEMAS}):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][section], ref
