"""The caller's own account (API.md §2): read, update, regenerate the API key,
and read the API secret of the add-contact HMAC."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from services.accounts import queries
from services.accounts.access import caller
from services.accounts.credentials import issue_key
from services.accounts.notices import announce, invalidate
from services.accounts.registration import read_password, unique_conflict
from services.accounts.usage import usage_of
from services.accounts.user_views import account_json
from shared import outbox
from shared.appkeys import PG_POOL
from shared.dates import utcnow
from shared.envelope import BadRequest, NotFound, json_response, ok
from shared.events import APIKEY_REVOKED, ApiKeyRevoked, new_event
from shared.passwords import hash_password_async
from shared.request_body import read_body


def _gone() -> NotFound:
    # The gateway's cached principal outlived the user (deleted a moment ago).
    return NotFound("Account not found.")


async def get_account(request: web.Request) -> web.Response:
    who = caller(request)
    async with request.app[PG_POOL].acquire() as conn:
        row = await conn.fetchrow(queries.GET_USER, who.user_id)
    if row is None:
        raise _gone()
    usage = await usage_of(request.app, [row["id"]])
    return ok(data=account_json(row, usage[row["id"]]))


async def update_account(request: web.Request) -> web.Response:
    who = caller(request)
    body = await read_body(request)
    email = body.email("email")
    password = read_password(body, required=False)
    if email is None and password is None:
        raise BadRequest("Nothing to update: send 'email' and/or 'password'.")
    password_hash = await hash_password_async(password) if password is not None else None
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        if not await conn.fetchval(queries.USER_EXISTS, who.user_id):
            raise _gone()
        if email is not None:
            try:
                await conn.execute(queries.UPDATE_EMAIL, who.user_id, email)
            except asyncpg.UniqueViolationError as exc:
                raise unique_conflict(exc) from exc
        if password_hash is not None:
            await conn.execute(queries.UPDATE_PASSWORD, who.user_id, password_hash)
            # a new password signs out every browser session
            await conn.execute(queries.DELETE_SESSIONS, who.user_id)
    return ok(message="Account has been successfully updated.")


async def regenerate_key(request: web.Request) -> web.Response:
    """A new key; the old one stops working at once (the gateway evicts it on our header)."""
    who = caller(request)
    body = await read_body(request)
    expires_at = body.when("expiration")
    if expires_at is not None and expires_at <= utcnow():
        raise BadRequest("The field 'expiration' must be in the future.")
    async with outbox.transaction(request.app) as conn:
        if not await conn.fetchval(queries.LOCK_USER, who.user_id):
            raise _gone()
        key, revoked = await issue_key(conn, who.user_id, expires_at)
        await announce(
            conn,
            *(
                new_event(APIKEY_REVOKED, ApiKeyRevoked(user_id=who.user_id, key_hash=h))
                for h in revoked
            ),
        )
    return json_response({"error": 0, "apikey": key.key}, headers=invalidate(f"user:{who.user_id}"))


async def get_secret(request: web.Request) -> web.Response:
    who = caller(request)
    async with request.app[PG_POOL].acquire() as conn:
        secret = await conn.fetchval(queries.GET_SECRET, who.user_id)
    if secret is None:
        raise _gone()
    return ok(secret=secret)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/account", get_account),
        web.put("/api/account/update", update_account),
        web.post("/api/account/apikey/regenerate", regenerate_key),
        web.get("/api/account/secret", get_secret),
    ]
