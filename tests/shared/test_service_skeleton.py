"""What every internal service answers, whatever its routes: signed requests
only, JSON errors, and the ops endpoints."""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from shared import identity
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


async def test_a_signed_request_is_accepted_once(serve_app: ServeApp, settings: Settings) -> None:
    client = await serve_app(echo_app)
    alice = principals.user()
    body = b'{"name": "bob"}'
    header = identity.sign(alice, settings.internal_secret, "POST", "/api/whoami", body)
    sent = {identity.HEADER: header, "Content-Type": "application/json"}
    first = await client.post("/api/whoami", data=body, headers=sent)
    assert first.status == 200
    replayed = await client.post("/api/whoami", data=body, headers=sent)
    assert replayed.status == 403
    assert await replayed.json() == {"error": 1, "message": "This signed request was already used."}
    # nor can it be moved to another body or query
    other = await client.post("/api/whoami", data=b'{"name": "eve"}', headers=sent)
    assert other.status == 403
    moved = await client.post("/api/whoami?as=admin", data=body, headers=sent)
    assert moved.status == 403


async def test_a_replay_is_refused_by_every_replica(
    serve_app: ServeApp, settings: Settings
) -> None:
    first, second = await serve_app(echo_app), await serve_app(echo_app)
    header = identity.sign(principals.user(), settings.internal_secret, "POST", "/api/whoami")
    assert (await first.post("/api/whoami", headers={identity.HEADER: header})).status == 200
    assert (await second.post("/api/whoami", headers={identity.HEADER: header})).status == 403


async def test_the_seen_nonce_is_forgotten_once_the_signature_expires(
    serve_app: ServeApp, settings: Settings, redis_client: aioredis.Redis
) -> None:
    client = await serve_app(echo_app)
    header = identity.sign(principals.user(), settings.internal_secret, "POST", "/api/whoami")
    assert (await client.post("/api/whoami", headers={identity.HEADER: header})).status == 200
    signed = identity.verify_signed(header, settings.internal_secret, "POST", "/api/whoami")
    assert signed is not None
    ttl = await redis_client.ttl(settings.redis_key("nonce", signed.nonce))
    assert 0 < ttl <= 2 * identity.MAX_AGE_SECONDS + 1
