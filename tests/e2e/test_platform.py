"""The whole platform as real processes, driven over HTTP the way a user would."""

from __future__ import annotations

import secrets

import aiohttp
import pytest

from tests.support.api_calls import call
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


async def test_platform_over_http(system: RunningSystem, admin_key: str) -> None:
    api = system.gateway_url + "/api"
    tag = secrets.token_hex(5)
    async with aiohttp.ClientSession() as http:
        # an admin registers a user; the user's key is shown once
        status, body, _ = await call(
            http,
            "POST",
            f"{api}/user/add",
            admin_key,
            {"username": f"e2e{tag}", "email": f"e2e{tag}@example.com", "password": "pass-123"},
        )
        assert status == 200, body
        user = body["data"]
        key = user["apikey"]

        # the user reads their account, with the rate limit in the headers
        status, body, headers = await call(http, "GET", f"{api}/account", key)
        assert status == 200, body
        assert body["data"]["username"] == f"e2e{tag}"
        assert body["data"]["status"] == "free"
        assert headers["X-RateLimit-Limit"] == "30"
        assert headers["X-RateLimit-Remaining"] == "29"
        assert int(headers["X-RateLimit-Reset"]) > 0

        status, body, _ = await call(
            http, "PUT", f"{api}/account/update", key, {"email": f"new{tag}@example.com"}
        )
        assert (status, body["message"]) == (200, "Account has been successfully updated.")
        status, body, _ = await call(http, "GET", f"{api}/account", key)
        assert body["data"]["email"] == f"new{tag}@example.com"

        # the links service answers through the same door
        status, body, _ = await call(http, "GET", f"{api}/urls", key)
        assert status == 200, body
        assert body["data"]["urls"] == []

        # not an admin; no key; a wrong key
        assert (await call(http, "GET", f"{api}/users", key))[0] == 403
        assert (await call(http, "GET", f"{api}/account"))[0] == 401
        assert (await call(http, "GET", f"{api}/account", "nope"))[0] == 401

        # a new key: the old one fails at once
        status, body, _ = await call(http, "POST", f"{api}/account/apikey/regenerate", key)
        assert status == 200
        new_key = body["apikey"]
        assert (await call(http, "GET", f"{api}/account", key))[0] == 401
        assert (await call(http, "GET", f"{api}/account", new_key))[0] == 200

        # services refuse anyone but the gateway
        direct = f"http://127.0.0.1:{system.settings.accounts_port}/api/account"
        assert (await call(http, "GET", direct, new_key))[0] == 403

        # an admin's single-use sign-in link, served on the short domain by the edge
        status, body, _ = await call(http, "GET", f"{api}/user/login/{user['id']}", admin_key)
        assert status == 200, body
        sso_url = body["url"]
        assert sso_url.startswith(f"{system.edge_url}/user/login/sso/")
        async with http.head(sso_url) as resp:  # a mail scanner's look leaves it usable
            assert resp.status == 200
            assert "Set-Cookie" not in resp.headers
        async with http.get(sso_url) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            assert f"e2e{tag}" in await resp.text()
            cookie = resp.headers["Set-Cookie"]
            assert "HttpOnly" in cookie
            assert "Secure" in cookie
        async with http.get(sso_url) as resp:
            assert resp.status == 410  # used once, never again

        async with http.get(f"{api}/openapi.json") as resp:
            assert resp.status == 200
            assert (await resp.json())["openapi"] == "3.1.0"
        async with http.get(f"{api}/docs") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"

        # with the accounts service down the gateway answers JSON 503, not a hang
        await system.stop(["accounts"])
        status, body, _ = await call(http, "GET", f"{api}/account", new_key)
        assert status == 503
        assert body["error"] == 1
