"""What every internal service answers, whatever its routes: signed requests
only, JSON errors, and the ops endpoints."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.envelope import ok
from shared.request_body import read_body
from shared.service import create_service_app, principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.signed_client import SignedClient


def echo_app(settings: Settings) -> web.Application:
    app = create_service_app(settings, name="echo", needs=("postgres", "redis", "amqp"))

    async def whoami(request: web.Request) -> web.Response:
        body = await read_body(request)
        return ok(uid=principal(request).user_id, name=body.text("name", max_length=5))

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app.router.add_post("/api/whoami", whoami)
    app.router.add_get("/api/boom", boom)
    return app


async def test_unsigned_request_is_refused(serve_app: ServeApp) -> None:
    client = await serve_app(echo_app)
    resp = await client.post("/api/whoami", json={})
    assert resp.status == 403
    assert (await resp.json())["error"] == 1


async def test_signed_request_reaches_handler(
    serve_app: ServeApp, signed: Callable[[TestClient[web.Request, web.Application]], SignedClient]
) -> None:
    api = signed(await serve_app(echo_app))
    alice = principals.user()
    resp = await api.post("/api/whoami", alice, json={"name": "bob"})
    assert resp.status == 200
    assert await resp.json() == {"error": 0, "uid": alice.user_id, "name": "bob"}


async def test_bad_input_answers_json_400(
    serve_app: ServeApp, signed: Callable[[TestClient[web.Request, web.Application]], SignedClient]
) -> None:
    api = signed(await serve_app(echo_app))
    alice = principals.user()
    for body, message in (
        (b"{not json", "Malformed JSON body."),
        (b"[1, 2]", "The JSON body must be an object."),
        (b'{"name": 12345678}', "The field 'name' must be at most 5 characters."),
        (b'{"name": {"x": 1}}', "The field 'name' must be a string."),
    ):
        resp = await api.post("/api/whoami", alice, data=body)
        assert resp.status == 400
        assert await resp.json() == {"error": 1, "message": message}


async def test_oversize_body_is_413(
    serve_app: ServeApp,
    settings: Settings,
    signed: Callable[[TestClient[web.Request, web.Application]], SignedClient],
) -> None:
    api = signed(await serve_app(echo_app, settings.with_overrides(max_body_bytes=1024)))
    resp = await api.post(
        "/api/whoami", principals.user(), data=b'{"name": "' + b"x" * 5000 + b'"}'
    )
    assert resp.status == 413
    assert (await resp.json())["error"] == 1


async def test_unknown_route_and_crash_are_json(
    serve_app: ServeApp, signed: Callable[[TestClient[web.Request, web.Application]], SignedClient]
) -> None:
    api = signed(await serve_app(echo_app))
    resp = await api.get("/api/nothing-here", principals.user())
    assert resp.status == 404
    assert resp.content_type == "application/json"
    resp = await api.get("/api/boom", principals.user())
    assert resp.status == 500
    body = await resp.json()
    assert body == {"error": 1, "message": "Internal server error."}


async def test_ops_endpoints(serve_app: ServeApp) -> None:
    client = await serve_app(echo_app)
    health = await (await client.get("/health")).json()
    assert health["status"] == "ok"
    assert health["dependencies"] == {"postgres": "up", "rabbitmq": "up", "redis": "up"}
    ready = await client.get("/ready")
    assert ready.status == 200
    assert (await ready.json())["status"] == "ready"
    metrics = await client.get("/metrics")
    assert "http_requests_total" in await metrics.text()
