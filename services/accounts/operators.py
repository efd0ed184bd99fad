"""What an operator does to someone else's account (admins only; the
``shortener`` command line calls these): set a new password, revoke every API
key of a user."""

from __future__ import annotations

from aiohttp import web

from services.accounts import queries
from services.accounts.access import admin
from services.accounts.notices import announce, invalidate
from services.accounts.registration import read_password
from shared import outbox
from shared.envelope import NotFound, json_response, ok
from shared.events import APIKEY_REVOKED, ApiKeyRevoked, new_event
from shared.passwords import hash_password_async
from shared.request_body import path_id, read_body


def _missing() -> NotFound:
    return NotFound("User not found.")


async def reset_password(request: web.Request) -> web.Response:
    """A new password; the user's signed-in sessions end."""
    admin(request)
    user_id = path_id(request)
    password = read_password(await read_body(request), required=True)
    assert password is not None
    password_hash = await hash_password_async(password)
    async with outbox.transaction(request.app) as conn:
        if not await conn.fetchval(queries.LOCK_USER, user_id):
            raise _missing()
        await conn.execute(queries.UPDATE_PASSWORD, user_id, password_hash)
        await conn.execute(queries.DELETE_SESSIONS, user_id)
    return ok(message="The password has been changed.")


async def revoke_keys(request: web.Request) -> web.Response:
    """Every live key of the user stops working at once (the user regenerates one)."""
    admin(request)
    user_id = path_id(request)
    async with outbox.transaction(request.app) as conn:
        if not await conn.fetchval(queries.LOCK_USER, user_id):
            raise _missing()
        revoked = [row["key_hash"] for row in await conn.fetch(queries.REVOKE_KEYS, user_id)]
        await announce(
            conn,
            *(
                new_event(APIKEY_REVOKED, ApiKeyRevoked(user_id=user_id, key_hash=h))
                for h in revoked
            ),
        )
    return json_response(
        {"error": 0, "message": "API keys revoked.", "revoked": len(revoked)},
        headers=invalidate(f"user:{user_id}"),
    )


def routes() -> list[web.RouteDef]:
    return [
        web.put(r"/api/user/{id:\d+}/password", reset_password),
        web.post(r"/api/user/{id:\d+}/apikey/revoke", revoke_keys),
    ]
