"""The OpenAPI document describes exactly what the services serve.

Each service owns some fragments of :mod:`gateway.openapi`; the public routes a
service registers must be the union of the operations its fragments describe
(nothing undocumented, nothing documented that is not served), the gateway must
route every described path to that service, every operation must carry its
parameters, security, examples and errors, and every reference of the merged
document must resolve."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from aiohttp import web

from gateway.openapi import (
    accounts,
    bio,
    build_document,
    campaigns,
    channels,
    links,
    operators,
    pages,
    pixels,
    qr,
    teams,
    volume,
    webhooks,
)
from gateway.routing import ACCOUNTS, COMPAT_PREFIX, LINKS, WEBHOOKS, Router
from services.accounts.app import create_app as create_accounts_app
from services.links.app import create_app as create_links_app
from services.webhooks.app import create_app as create_webhooks_app
from shared.settings import Settings
from tests.support.openapi_refs import refs, resolves
from tests.support.principals import BUSINESS_LIMITS, STARTER_LIMITS

ServiceFactory = Callable[[Settings], web.Application]

OWNERS: dict[str, tuple[ServiceFactory, tuple[ModuleType, ...]]] = {
    ACCOUNTS: (create_accounts_app, (accounts, operators, teams)),
    LINKS: (create_links_app, (links, qr, campaigns, channels, pixels, pages, volume, bio)),
    WEBHOOKS: (create_webhooks_app, (webhooks,)),
}
FRAGMENTS = tuple(fragment for _, owned in OWNERS.values() for fragment in owned)
METHODS = ("get", "post", "put", "delete")
# Public routes; the catch-all under /v1/ only answers "unknown method".
PUBLIC = ("/api/", "/v1/add-contact")


def served_operations(factory: ServiceFactory) -> set[tuple[str, str]]:
    found = set()
    for route in factory(Settings()).router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith(PUBLIC) and route.method.lower() in METHODS:
            found.add((route.method.lower(), re.sub(r"{(\w+):[^}]+}", r"{\1}", path)))
    return found


def described_operations(fragments: tuple[ModuleType, ...]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for fragment in fragments
        for path, item in fragment.PATHS.items()
        for method in item
        if method in METHODS
    }


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every described operation as the merged document publishes it."""
    document = build_document()
    for method, path in described_operations(FRAGMENTS):
        yield method, path, document["paths"][path][method]


@pytest.mark.parametrize("service", sorted(OWNERS))
def test_every_served_endpoint_is_described_and_nothing_else(service: str) -> None:
    factory, fragments = OWNERS[service]
    assert served_operations(factory) == described_operations(fragments)


@pytest.mark.parametrize("service", sorted(OWNERS))
def test_the_gateway_routes_every_described_path_to_its_service(service: str) -> None:
    router = Router()
    for _, path in described_operations(OWNERS[service][1]):
        concrete = re.sub(r"{\w+}", "7", path)
        if path.startswith(COMPAT_PREFIX):
            continue  # the gateway sends the whole compatibility prefix to accounts
        assert router.upstream(concrete) == service, path


def test_operations_have_parameters_security_examples_and_errors() -> None:
    for method, path, op in operations():
        names = {p.get("name") for p in op.get("parameters", [])}
        for param in re.findall(r"{(\w+)}", path):
            assert param in names, (method, path, param)
        compat = path.startswith(COMPAT_PREFIX)
        # a key is optional where the body proves who calls (accepting an invitation)
        keyed: list[dict[str, list[str]]] = (
            [{"bearerAuth": []}] if path != "/api/team/accept" else [{}, {"bearerAuth": []}]
        )
        assert op["security"] == ([] if compat else keyed), (method, path)
        ok = op["responses"]["200"]["content"]
        if "application/json" in ok:
            assert "example" in ok["application/json"], (method, path)
        else:
            media = next(iter(ok.values()))
            assert "example" in media or "schema" in media, (method, path)
        if "requestBody" in op:
            body = op["requestBody"]["content"]
            assert any("example" in media for media in body.values()), (method, path)
        assert [code for code in op["responses"] if code != "200"], (method, path)


def test_fragments_merge_and_every_reference_resolves() -> None:
    document = build_document()
    for target in set(refs(document)):
        assert target.startswith("#/components/"), target
        assert resolves(document, target), target
    assert "#/components/schemas/Error" in set(refs(document))
    tags = {t["name"] for t in document["tags"]}
    assert {"Links", "Branded domains", "QR codes", "Campaigns", "Channels"} <= tags
    assert {"Pixels", "Splash pages", "CTA overlays"} <= tags
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_account_examples_use_the_published_shapes() -> None:
    plans = accounts.PATHS["/api/plans"]["get"]["responses"]["200"]["content"]
    example = plans["application/json"]["example"]
    assert example["data"][0]["limits"] == BUSINESS_LIMITS
    assert example["data"][1]["limits"] == STARTER_LIMITS
    regenerate = accounts.PATHS["/api/account/apikey/regenerate"]["post"]["responses"]["200"]
    assert list(regenerate["content"]["application/json"]["example"]) == ["error", "apikey"]
    v1 = accounts.PATHS["/v1/add-contact/json"]["post"]["responses"]
    assert set(v1) == {"200", "400", "401", "404", "463", "472", "473"}


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
