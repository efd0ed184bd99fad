"""The gateway in front of the real accounts service (Postgres, Redis, RabbitMQ real)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from gateway.app import create_app as create_gateway
from services.accounts.app import create_app as create_accounts
from services.accounts.registration import register
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.gateway.conftest import Gateway, body_of, closed_port


@dataclass
class Platform:
    gateway: Gateway
    accounts: TestClient[web.Request, web.Application]
    admin_key: str

    async def add_user(self, **fields: Any) -> dict[str, Any]:
        tag = secrets.token_hex(5)
        body = {"username": f"g{tag}", "email": f"g{tag}@example.com", "password": "pass-123"}
        resp = await self.gateway.call("POST", "/api/user/add", self.admin_key, json=body | fields)
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = (await body_of(resp))["data"]
        return data


@pytest.fixture
async def platform(serve_app: ServeApp, settings: Settings, pg_pool: asyncpg.Pool) -> Platform:
    accounts = await serve_app(
        create_accounts, settings.with_overrides(analytics_url=f"http://127.0.0.1:{closed_port()}")
    )
    gateway_settings = settings.with_overrides(
        accounts_url=str(accounts.make_url("")).rstrip("/"),
        links_url=f"http://127.0.0.1:{closed_port()}",
        auth_failure_limit=10_000,
        rate_limit_capacity=1000,
    )
    gateway = Gateway(await serve_app(create_gateway, gateway_settings), gateway_settings)
    tag = secrets.token_hex(5)
    async with pg_pool.acquire() as conn, conn.transaction():
        made = await register(
            conn,
            username=f"admin{tag}",
            email=f"admin{tag}@example.com",
            password_hash=await hash_password_async("admin-pass"),
            role="admin",
        )
    return Platform(gateway, accounts, made.key.key)


async def test_new_user_uses_their_key(platform: Platform) -> None:
    user = await platform.add_user()
    resp = await platform.gateway.get("/api/account", user["apikey"])
    assert resp.status == 200
    body = await body_of(resp)
    assert body["error"] == 0
    assert body["data"]["username"] == user["username"]
    assert body["data"]["email"] == user["email"]
    assert resp.headers["X-RateLimit-Limit"] == "30"  # the seeded plans keep the default
    assert resp.headers["X-RateLimit-Remaining"] == "29"


async def test_regenerated_key_the_old_one_fails_at_once(platform: Platform) -> None:
    user = await platform.add_user()
    old = user["apikey"]
    assert (await platform.gateway.get("/api/account", old)).status == 200  # cached now
    resp = await platform.gateway.call("POST", "/api/account/apikey/regenerate", old)
    assert resp.status == 200
    assert "X-Principal-Invalidate" not in resp.headers
    new = (await body_of(resp))["apikey"]
    assert new != old
    resp = await platform.gateway.get("/api/account", old)
    assert resp.status == 401
    assert (await body_of(resp))["error"] == 1
    resp = await platform.gateway.get("/api/account", new)
    assert resp.status == 200
    assert (await body_of(resp))["data"]["id"] == user["id"]


async def test_deleted_user_is_401(platform: Platform) -> None:
    user = await platform.add_user()
    assert (await platform.gateway.get("/api/account", user["apikey"])).status == 200
    resp = await platform.gateway.call(
        "DELETE", f"/api/user/{user['id']}/delete", platform.admin_key
    )
    assert resp.status == 200
    resp = await platform.gateway.get("/api/account", user["apikey"])
    assert resp.status == 401


async def test_plan_with_its_own_rate_applies_at_once(platform: Platform) -> None:
    user = await platform.add_user()
    key = user["apikey"]
    assert (await platform.gateway.get("/api/account", key)).headers["X-RateLimit-Limit"] == "30"
    resp = await platform.gateway.call(
        "POST",
        "/api/plan/add",
        platform.admin_key,
        json={"name": f"Tiny {secrets.token_hex(4)}", "free": True, "rate": {"capacity": 2}},
    )
    assert resp.status == 200, await resp.text()
    plan_id = (await body_of(resp))["id"]
    resp = await platform.gateway.call(
        "PUT",
        f"/api/plan/{plan_id}/user/{user['id']}",
        platform.admin_key,
        json={"type": "monthly"},
    )
    assert resp.status == 200, await resp.text()
    statuses = []
    for _ in range(3):
        resp = await platform.gateway.get("/api/account", key)
        assert resp.headers["X-RateLimit-Limit"] == "2"
        statuses.append(resp.status)
    assert statuses == [200, 200, 429]


async def test_an_admin_is_not_held_back_by_a_plan_rate(platform: Platform) -> None:
    """Admins are never limited by a plan (issue 9): a plan's bucket of 2 does not stop them."""
    admin = await body_of(await platform.gateway.get("/api/account", platform.admin_key))
    resp = await platform.gateway.call(
        "POST",
        "/api/plan/add",
        platform.admin_key,
        json={"name": f"Tiny {secrets.token_hex(4)}", "free": True, "rate": {"capacity": 2}},
    )
    plan_id = (await body_of(resp))["id"]
    resp = await platform.gateway.call(
        "PUT",
        f"/api/plan/{plan_id}/user/{admin['data']['id']}",
        platform.admin_key,
        json={"type": "monthly"},
    )
    assert resp.status == 200, await resp.text()
    statuses = [
        (await platform.gateway.get("/api/account", platform.admin_key)).status for _ in range(5)
    ]
    assert statuses == [200] * 5
    resp = await platform.gateway.get("/api/account", platform.admin_key)
    assert resp.headers["X-RateLimit-Limit"] == str(Settings().admin_rate_limit_capacity)


async def test_non_admin_gets_403_through_the_gateway(platform: Platform) -> None:
    user = await platform.add_user()
    resp = await platform.gateway.get("/api/users", user["apikey"])
    assert resp.status == 403
    assert (await body_of(resp))["error"] == 1


async def test_service_called_directly_refuses(platform: Platform) -> None:
    user = await platform.add_user()
    bearer = {"Authorization": f"Bearer {user['apikey']}"}
    resp = await platform.accounts.get("/api/account", headers=bearer)
    assert resp.status == 403
    assert (await body_of(resp))["error"] == 1
    resp = await platform.accounts.post(
        "/internal/principal", json={"key_hash": "0" * 64}, headers=bearer
    )
    assert resp.status == 403
    # a signature the client made up is no better
    forged = {"X-Internal-Identity": "eyJ1aWQiOjF9.deadbeef"}
    resp = await platform.accounts.get("/api/users", headers=forged)
    assert resp.status == 403


async def test_accounts_stopped_gateway_answers_json_503(platform: Platform) -> None:
    user = await platform.add_user()
    cached = user["apikey"]
    assert (await platform.gateway.get("/api/account", cached)).status == 200
    other = (await platform.add_user())["apikey"]  # never used: not cached

    await platform.accounts.server.close()

    for key in (cached, other):
        resp = await platform.gateway.get("/api/account", key)
        assert resp.status == 503
        body = await body_of(resp)
        assert body["error"] == 1
        assert "retry" in body["message"].lower()


async def test_compat_api_is_reached_without_a_bearer_key(platform: Platform) -> None:
    # A wrong key/hash answers the seed's 401 envelope; an unknown /v1 method its 404.
    envelope = {"request": {"authentication": {"key": "nope", "hash": "nope"}, "contact": {}}}
    resp = await platform.gateway.call("POST", "/v1/add-contact/json", json=envelope)
    assert resp.status == 401
    assert (await body_of(resp))["response"]["status"]["code"] == 401
    resp = await platform.gateway.call("POST", "/v1/delete-everything/json", json=envelope)
    assert resp.status == 404
    assert (await body_of(resp))["response"]["status"]["code"] == 404


async def test_compat_prefix_forwards_only_its_documented_path(platform: Platform) -> None:
    # Sent as is (a client library would normalise the dots away): none may reach
    # the accounts service, whose /metrics and /internal routes lie one dot-dot away.
    gateway = platform.gateway
    for path in (
        "/v1/../metrics",
        "/v1/%2e%2e/metrics",
        "/v1/%2e%2e/internal/principal",
        "/v1/%2E%2E/internal/sso/x",
        "/v1/add-contact/json/../../internal/principal",
        "/v1/add-contact/json/%2e%2e/%2e%2e/metrics",
        "/v1/./add-contact/json",
        "/v1/add-contact%2fjson",
        "/v1/delete-everything/json",
    ):
        url = URL(f"http://127.0.0.1:{gateway.client.port}{path}", encoded=True)
        for method in ("GET", "POST"):
            resp = await gateway.client.session.request(method, url, data=b"{}")
            assert resp.status == 404, (method, path, await resp.text())
            body = await body_of(resp)
            assert body["response"]["status"]["code"] == 404, path
    for path in ("/api/%2e%2e/metrics", "/api/account/%2e%2e/%2e%2e/internal/principal"):
        url = URL(f"http://127.0.0.1:{gateway.client.port}{path}", encoded=True)
        headers = {"Authorization": f"Bearer {platform.admin_key}"}
        resp = await gateway.client.session.post(url, headers=headers, data=b"{}")
        assert resp.status == 404, path
        assert await body_of(resp) == {"error": 1, "message": "No such endpoint."}


async def test_regenerating_the_key_does_not_refill_the_bucket(platform: Platform) -> None:
    key = (await platform.add_user())["apikey"]
    passed, limit = 0, None
    started = time.monotonic()
    for _ in range(200):
        resp = await platform.gateway.call("POST", "/api/account/apikey/regenerate", key)
        limit = limit or int(resp.headers["X-RateLimit-Limit"])
        if resp.status != 200:
            assert resp.status == 429
            break
        passed += 1
        key = (await body_of(resp))["apikey"]
    assert limit is not None
    # The bucket refills limit/window tokens a second while the loop runs (seconds on
    # a busy machine); a fresh bucket per key would let all 200 through.
    refilled = int((time.monotonic() - started) * limit / Settings().rate_limit_window) + 1
    assert limit <= passed <= limit + refilled, (passed, limit, refilled)
    resp = await platform.gateway.get("/api/account", key)
    assert resp.status == 429
