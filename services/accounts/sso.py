"""Single sign-on: admins make a one-hour, single-use link for a user
(``GET /api/user/login/:id``); the edge relays its visit to
``GET /internal/sso/{token}``, which consumes the token once, opens a browser
session (cookie) and answers the signed-in page.

A ``HEAD`` of the link (mail scanners, link previews) must leave it usable: it
only says whether the link would work, and opens no session. Nor does a
``HEAD`` of the admin endpoint make a link: only ``GET`` does."""

from __future__ import annotations

import logging
import re
from typing import Final

from aiohttp import web

from services.accounts import queries
from services.accounts.access import admin, service
from services.accounts.credentials import new_token, sha256_hex
from services.accounts.plan_limits import canonical
from services.accounts.sso_pages import PAGE_HEADERS, signed_in_page, unusable_page
from services.accounts.usage import usage_of
from services.accounts.user_views import avatar
from shared.appkeys import PG_POOL, SETTINGS
from shared.envelope import NotFound, ok
from shared.request_body import path_id

log = logging.getLogger("services.accounts.sso")

SSO_TTL_SECONDS: Final = 3600
SESSION_TTL_SECONDS: Final = 14 * 24 * 3600
SESSION_COOKIE: Final = "sl_session"
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{20,128}")


async def login_link(request: web.Request) -> web.Response:
    admin(request)
    user_id = path_id(request)
    token, token_hash = new_token()
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        if not await conn.fetchval(queries.USER_EXISTS, user_id):
            raise NotFound("User not found.")
        await conn.execute(queries.PURGE_STALE_SSO)
        await conn.execute(queries.INSERT_SSO, token_hash, user_id, float(SSO_TTL_SECONDS))
    base = request.app[SETTINGS].public_base_url
    return ok(url=f"{base}/user/login/sso/{token}")


def _unusable(status: int) -> web.Response:
    return web.Response(
        text=unusable_page(status),
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=PAGE_HEADERS,
    )


async def sso_peek(request: web.Request) -> web.Response:
    """``HEAD``: the status a visit would get now, without using the link up."""
    service(request)
    token = request.match_info["token"]
    if not _TOKEN_RE.fullmatch(token):
        return _unusable(404)
    async with request.app[PG_POOL].acquire() as conn:
        usable = await conn.fetchval(queries.SSO_USABLE, sha256_hex(token))
    if usable is None:
        return _unusable(404)
    if not usable:
        return _unusable(410)
    return web.Response(content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


async def sso_landing(request: web.Request) -> web.Response:
    service(request)
    token = request.match_info["token"]
    if not _TOKEN_RE.fullmatch(token):
        return _unusable(404)
    token_hash = sha256_hex(token)
    session, session_hash = new_token()
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        user_id = await conn.fetchval(queries.CONSUME_SSO, token_hash)
        if user_id is None:
            known = await conn.fetchval(queries.SSO_EXISTS, token_hash)
            return _unusable(410 if known else 404)
        await conn.execute(queries.PURGE_STALE_SESSIONS)
        await conn.execute(
            queries.INSERT_SESSION, session_hash, user_id, float(SESSION_TTL_SECONDS)
        )
        user = await conn.fetchrow(queries.GET_USER, user_id)
    assert user is not None  # the token's row cascades away with its user
    usage = await usage_of(request.app, [user_id])
    response = web.Response(
        text=signed_in_page(user, canonical(user["limits"]), avatar(user["email"]), usage[user_id]),
        content_type="text/html",
        charset="utf-8",
        headers=PAGE_HEADERS,
    )
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=SESSION_TTL_SECONDS,
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


def routes() -> list[web.RouteDef]:
    return [
        # GET only: a HEAD must not mint a link (405), nor use one up (sso_peek)
        web.get(r"/api/user/login/{id:\d+}", login_link, allow_head=False),
        web.get("/internal/sso/{token}", sso_landing, allow_head=False),
        web.head("/internal/sso/{token}", sso_peek),
    ]
