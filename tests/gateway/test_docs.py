"""The OpenAPI document, its HTML reference, and the ops endpoints."""

from __future__ import annotations

from html.parser import HTMLParser
from types import SimpleNamespace

import aiohttp
import orjson
import pytest

import gateway.openapi as openapi
from gateway.openapi import OpenApiConflict, build_document, common
from tests.gateway.conftest import Gateway, StartGateway, body_of
from tests.support.openapi_refs import refs, resolves
from tests.support.ops import metrics_text
from tests.support.system import free_port


async def test_openapi_document_is_served_without_a_key(gateway: Gateway) -> None:
    resp = await gateway.get("/api/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    document = orjson.loads(await resp.read())
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message"]
    assert "Pagination" in document["components"]["schemas"]
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in document["components"]["headers"]
    assert "/api/openapi.json" in document["paths"]
    assert document["paths"]["/api/docs"]["get"]["security"] == []
    for ref in refs(document):
        assert ref.startswith("#/"), ref
        assert resolves(document, ref), ref


def test_every_authenticated_operation_gets_the_gateway_answers() -> None:
    document = build_document()
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in openapi.HTTP_METHODS:
                continue
            if path.startswith("/api/") and op.get("security") != []:
                for status in ("401", "429", "502", "503", "504"):
                    assert status in op["responses"], (method, path, status)
                assert op.get("tags"), (method, path)


def test_fragments_merge_and_conflicts_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    op = common.operation("List things", tag="Things", responses={"200": common.message("ok")})
    first = SimpleNamespace(__name__="gateway.openapi.first", PATHS={"/api/things": {"get": op}})
    second = SimpleNamespace(
        __name__="gateway.openapi.second",
        PATHS={"/api/things": {"post": op}},
        SCHEMAS={"Thing": {"type": "object"}},
        TAGS=[{"name": "Things", "description": "All the things."}],
    )
    monkeypatch.setattr(openapi, "fragments", lambda: iter([common, first, second]))
    document = build_document()
    assert set(document["paths"]["/api/things"]) == {"get", "post"}
    assert document["components"]["schemas"]["Thing"] == {"type": "object"}
    assert {"name": "Things", "description": "All the things."} in document["tags"]
    headers = document["paths"]["/api/things"]["get"]["responses"]["200"]["headers"]
    assert set(headers) == {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

    clash = SimpleNamespace(__name__="gateway.openapi.clash", PATHS={"/api/things": {"get": op}})
    monkeypatch.setattr(openapi, "fragments", lambda: iter([common, first, clash]))
    with pytest.raises(OpenApiConflict, match="GET /api/things"):
        build_document()


class Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[dict[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_docs_page_is_self_contained_accessible_html(gateway: Gateway) -> None:
    resp = await gateway.get("/api/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = await resp.text()
    outline = Outline()
    outline.feed(page)
    assert outline.attrs[outline.tags.index("html")]["lang"] == "en"
    assert "script" not in outline.tags
    assert "link" not in outline.tags  # no external stylesheet or font
    assert not any(
        (a.get("src") or a.get("href") or "").startswith(("http:", "https:", "//"))
        for a in outline.attrs
    )
    assert outline.tags.count("h1") == 1
    assert "main" in outline.tags
    assert "nav" in outline.tags
    assert outline.attrs[outline.tags.index("a")]["href"] == "#main"  # skip link first
    text = " ".join(outline.text)
    assert "/api/openapi.json" in text
    assert "Authorization: Bearer" in text


async def test_ops_endpoints(gateway: Gateway) -> None:
    health = await gateway.get("/health")
    body = orjson.loads(await health.read())
    assert (body["status"], body["service"]) == ("ok", "gateway")
    assert set(body["dependencies"]) == {"accounts", "links", "rabbitmq", "redis"}
    ready = await gateway.get("/ready")
    assert ready.status == 200
    assert orjson.loads(await ready.read())["status"] == "ready"
    await gateway.get("/api/account")
    metrics = await metrics_text(gateway.client)  # on the ops port only
    assert 'http_requests_total{method="GET",route="/api/{tail}",status="401"}' in metrics
    public = await gateway.get("/metrics")
    assert public.status == 404
    assert await body_of(public) == {"error": 1, "message": "No such endpoint."}


async def test_metrics_are_served_on_the_ops_port_only(start_gateway: StartGateway) -> None:
    port = free_port()
    gateway = await start_gateway(gateway_ops_port=port)
    assert (await gateway.get("/api/account")).status == 401
    public = await gateway.get("/metrics")
    assert public.status == 404
    assert "http_requests_total" not in await public.text()
    assert (await gateway.get("/health")).status == 200  # probes stay on the public port
    assert (await gateway.get("/ready")).status == 200
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            assert 'route="/api/{tail}",status="401"' in await resp.text()
        for path in ("/health", "/ready"):
            async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                assert resp.status == 200, path
        async with http.get(f"http://127.0.0.1:{port}/api/account") as resp:
            assert resp.status == 404  # nothing else there
