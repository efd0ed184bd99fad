"""Single sign-on: a one-hour, single-use link, and the signed-in page the edge relays."""

from __future__ import annotations

from http.cookies import SimpleCookie

import asyncpg
from aiohttp import web

from services.accounts.credentials import sha256_hex
from shared.envelope import json_response
from shared.identity import ANONYMOUS, SERVICE
from shared.service import create_service_app, principal
from shared.settings import Settings
from tests.accounts.conftest import AccountsApi, StartAccounts
from tests.conftest import AppFactory, ServeApp
from tests.support import principals


async def make_link(api: AccountsApi, user_id: int) -> str:
    got = await api.call("GET", f"/api/user/login/{user_id}", principals.admin())
    assert got.status == 200, got.body
    assert list(got.body) == ["error", "url"]
    prefix = f"{api.settings.public_base_url}/user/login/sso/"
    url: str = got.body["url"]
    assert url.startswith(prefix)
    return url.removeprefix(prefix)


async def test_link_signs_in_once(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user(email="<i>ann</i>@example.com")
    token = await make_link(api, user.id)
    stored = await pg_pool.fetchrow(
        "SELECT token_hash, expires_at - created_at AS ttl FROM accounts.sso_tokens "
        "WHERE user_id = $1",
        user.id,
    )
    assert stored is not None
    assert stored["token_hash"] == sha256_hex(token)  # only the hash is kept
    assert stored["ttl"].total_seconds() == 3600

    got = await api.call("GET", f"/internal/sso/{token}", SERVICE)
    assert got.status == 200
    assert got.headers["Content-Type"] == "text/html; charset=utf-8"
    assert got.headers["Cache-Control"] == "no-store"
    assert got.headers["Referrer-Policy"] == "no-referrer"
    page = got.body
    assert f"Signed in as {user.username}" in page
    assert '<html lang="en">' in page
    assert "Default (free)" in page
    assert "&lt;i&gt;ann&lt;/i&gt;@example.com" in page
    assert "<i>ann</i>" not in page
    assert "<dt>Clicks this month</dt><dd>unavailable</dd>" in page  # analytics is not running

    cookie = SimpleCookie()
    cookie.load(got.headers["Set-Cookie"])
    session = cookie["sl_session"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert session["path"] == "/"
    assert int(session["max-age"]) > 0
    sessions = await pg_pool.fetch(
        "SELECT token_hash FROM accounts.sessions WHERE user_id = $1", user.id
    )
    assert [r["token_hash"] for r in sessions] == [sha256_hex(session.value)]

    again = await api.call("GET", f"/internal/sso/{token}", SERVICE)
    assert again.status == 410
    assert "already been used or has expired" in again.body
    assert "Set-Cookie" not in again.headers
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM accounts.sessions WHERE user_id = $1", user.id)
        == 1
    )


async def test_expired_link_fails(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    user = await api.add_user()
    token = await make_link(api, user.id)
    await pg_pool.execute(
        "UPDATE accounts.sso_tokens SET expires_at = now() - interval '1 second' "
        "WHERE token_hash = $1",
        sha256_hex(token),
    )
    got = await api.call("GET", f"/internal/sso/{token}", SERVICE)
    assert got.status == 410
    assert "Set-Cookie" not in got.headers
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM accounts.sessions WHERE user_id = $1", user.id)
        == 0
    )


async def test_unknown_or_malformed_token_is_404(api: AccountsApi) -> None:
    for token in ("A" * 43, "short", "has.dots.in.it.and.more.than.twenty"):
        got = await api.call("GET", f"/internal/sso/{token}", SERVICE)
        assert got.status == 404, token
        assert got.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "not valid" in got.body


async def test_only_services_open_the_landing(api: AccountsApi) -> None:
    user = await api.add_user()
    token = await make_link(api, user.id)
    for who in (ANONYMOUS, principals.admin()):
        assert (await api.call("GET", f"/internal/sso/{token}", who)).status == 403
    # the refusals did not use the link up
    assert (await api.call("GET", f"/internal/sso/{token}", SERVICE)).status == 200


async def test_link_for_unknown_user_is_404(api: AccountsApi) -> None:
    got = await api.call("GET", "/api/user/login/999999999999", principals.admin())
    assert got.status == 404
    assert got.body == {"error": 1, "message": "User not found."}


async def test_deleting_the_user_kills_the_link(api: AccountsApi) -> None:
    user = await api.add_user()
    token = await make_link(api, user.id)
    await api.call("DELETE", f"/api/user/{user.id}/delete", principals.admin())
    assert (await api.call("GET", f"/internal/sso/{token}", SERVICE)).status == 404


def usage_standin(seen: list[str]) -> AppFactory:
    """A stand-in for the analytics service's usage endpoint (signed requests only)."""

    def factory(settings: Settings) -> web.Application:
        app = create_service_app(settings, name="analytics-standin", needs=())

        async def usage(request: web.Request) -> web.Response:
            seen.append(principal(request).role)
            owners = (await request.json())["owners"]
            figures = {"clicks_this_month": 1234, "clicks_over_quota_this_month": 0}
            return json_response({"usage": {str(uid): figures for uid in owners}})

        app.router.add_post("/internal/usage", usage)
        return app

    return factory


async def test_page_shows_clicks_from_analytics(
    serve_app: ServeApp, start_accounts: StartAccounts
) -> None:
    seen: list[str] = []
    analytics = await serve_app(usage_standin(seen))
    api = await start_accounts(analytics_url=str(analytics.make_url("")).rstrip("/"))
    user = await api.add_user()
    token = await make_link(api, user.id)
    got = await api.call("GET", f"/internal/sso/{token}", SERVICE)
    assert got.status == 200
    assert "<dt>Clicks this month</dt><dd>1,234 of unlimited tracked clicks</dd>" in got.body
    assert "<dt>Links</dt><dd>unavailable</dd>" in got.body  # the links service is not running
    assert seen == ["service"]


async def test_head_never_uses_the_link_up(api: AccountsApi, pg_pool: asyncpg.Pool) -> None:
    """Mail scanners and link previews HEAD a link before its person opens it."""
    user = await api.add_user()
    token = await make_link(api, user.id)
    for _ in range(3):
        peek = await api.call("HEAD", f"/internal/sso/{token}", SERVICE)
        assert peek.status == 200
        assert "Set-Cookie" not in peek.headers
        assert peek.headers["Cache-Control"] == "no-store"
        assert peek.headers["Referrer-Policy"] == "no-referrer"
    assert (
        await pg_pool.fetchval(
            "SELECT used_at FROM accounts.sso_tokens WHERE token_hash = $1", sha256_hex(token)
        )
        is None
    )
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM accounts.sessions WHERE user_id = $1", user.id)
        == 0
    )
    # the person still signs in, once
    visit = await api.call("GET", f"/internal/sso/{token}", SERVICE)
    assert visit.status == 200
    assert f"Signed in as {user.username}" in visit.body
    assert "Set-Cookie" in visit.headers
    # and afterwards a HEAD says what a visit would get
    assert (await api.call("HEAD", f"/internal/sso/{token}", SERVICE)).status == 410
    assert (await api.call("HEAD", f"/internal/sso/{'B' * 43}", SERVICE)).status == 404
    assert (await api.call("HEAD", "/internal/sso/short", SERVICE)).status == 404
    assert (await api.call("HEAD", f"/internal/sso/{token}", principals.admin())).status == 403


async def test_head_of_the_admin_endpoint_makes_no_link(
    api: AccountsApi, pg_pool: asyncpg.Pool
) -> None:
    user = await api.add_user()
    got = await api.call("HEAD", f"/api/user/login/{user.id}", principals.admin())
    assert got.status == 405
    assert got.headers["Allow"] == "GET"
    assert (
        await pg_pool.fetchval(
            "SELECT count(*) FROM accounts.sso_tokens WHERE user_id = $1", user.id
        )
        == 0
    )
