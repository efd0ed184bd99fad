"""Users (API.md §11, admin only): list and filter, get one, add, delete."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from services.accounts import queries
from services.accounts.access import admin
from services.accounts.notices import announce, invalidate, plan_changed
from services.accounts.plan_limits import canonical
from services.accounts.registration import read_password, read_username, register
from services.accounts.usage import usage_of
from services.accounts.user_views import user_json
from shared import outbox
from shared.appkeys import PG_POOL
from shared.envelope import BadRequest, NotFound, json_response, ok
from shared.events import USER_DELETED, UserDeleted, new_event
from shared.pagination import MAX_PAGE
from shared.passwords import hash_password_async
from shared.request_body import INT_MAX, path_id, read_body
from shared.request_query import positive_param, query_text

FILTERS: Final = ("admin", "free", "pro")
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000


async def list_users(request: web.Request) -> web.Response:
    """The published answer is a plain array; ``limit``/``page`` (extension) bound it."""
    admin(request)
    query = request.query
    kind = query.get("filter") or None
    if kind is not None and kind not in FILTERS:
        raise BadRequest("The parameter 'filter' must be one of: admin, free, pro.")
    email = query_text(query, "email", max_length=254)
    limit = positive_param(query, "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    page = positive_param(query, "page", default=1, maximum=MAX_PAGE)
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(queries.LIST_USERS, kind, email, limit, (page - 1) * limit)
    usage = await usage_of(request.app, [r["id"] for r in rows])
    return ok(data=[user_json(r, usage[r["id"]]) for r in rows])


async def get_user(request: web.Request) -> web.Response:
    admin(request)
    user_id = path_id(request)
    async with request.app[PG_POOL].acquire() as conn:
        row = await conn.fetchrow(queries.GET_USER, user_id)
    if row is None:
        raise NotFound("User not found.")
    usage = await usage_of(request.app, [user_id])
    return ok(data=user_json(row, usage[user_id]))


async def add_user(request: web.Request) -> web.Response:
    admin(request)
    body = await read_body(request)
    username = read_username(body)
    email = body.email("email", required=True)
    password = read_password(body, required=True)
    plan_id = body.integer("planid", min_value=1, max_value=INT_MAX)
    expiration = body.when("expiration")
    assert email is not None
    assert password is not None
    password_hash = await hash_password_async(password)
    async with outbox.transaction(request.app) as conn:
        made = await register(
            conn,
            username=username,
            email=email,
            password_hash=password_hash,
            plan_id=plan_id,
            expires_at=expiration,
        )
        user = made.user
        await announce(
            conn,
            plan_changed(
                user["effective_plan_id"], user["id"], canonical(user["limits"]), role=user["role"]
            ),
        )
    return ok(
        message="User has been registered.",
        data={
            "id": user["id"],
            "email": user["email"],
            "username": user["username"],
            "apikey": made.key.key,  # the only time the full key is shown
        },
    )


async def delete_user(request: web.Request) -> web.Response:
    who = admin(request)
    user_id = path_id(request)
    if user_id == who.user_id:
        raise BadRequest("You cannot delete your own account.")
    async with outbox.transaction(request.app) as conn:
        # keys, sessions, SSO links and the address book go with it (ON DELETE CASCADE)
        if await conn.fetchval(queries.DELETE_USER, user_id) is None:
            raise NotFound("User not found.")
        await announce(conn, new_event(USER_DELETED, UserDeleted(user_id=user_id)))
    return json_response(
        {"error": 0, "message": "User has been deleted."}, headers=invalidate(f"user:{user_id}")
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/users", list_users),
        web.post("/api/user/add", add_user),
        web.get(r"/api/user/{id:\d+}", get_user),
        web.delete(r"/api/user/{id:\d+}/delete", delete_user),
    ]
