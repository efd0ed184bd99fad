"""Creating a user: validation of names and passwords, the row, its first API
key and its API secret. Used by ``POST /api/user/add`` and the bootstrap."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from services.accounts import queries
from services.accounts.credentials import NewKey, issue_key, new_api_secret
from services.accounts.rows import Conn
from shared.envelope import BadRequest, Conflict, NotFound
from shared.request_body import Body

USERNAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,31}")
MIN_PASSWORD: Final = 5
MAX_PASSWORD: Final = 256

_CONFLICTS: Final = {
    "users_username_unique": "This username is already taken.",
    "users_email_unique": "This email address is already in use.",
}


def read_username(body: Body) -> str:
    value = body.text("username", required=True, max_length=32)
    assert value is not None
    if not USERNAME_RE.fullmatch(value):
        raise BadRequest(
            "The field 'username' must be 3 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return value


def read_password(body: Body, *, required: bool) -> str | None:
    value = body.text("password", required=required, max_length=MAX_PASSWORD, strip=False)
    if value is None:
        return None
    if len(value) < MIN_PASSWORD:
        raise BadRequest(f"The field 'password' must be at least {MIN_PASSWORD} characters.")
    return value


def unique_conflict(exc: asyncpg.UniqueViolationError) -> Conflict:
    return Conflict(_CONFLICTS.get(exc.constraint_name or "", "This value is already in use."))


@dataclass(frozen=True, slots=True)
class Registered:
    user: dict[str, Any]  # the stored user, as GET_USER reads it
    key: NewKey


async def register(
    conn: Conn,
    *,
    username: str,
    email: str,
    password_hash: str,
    role: str = "user",
    plan_id: int | None = None,
    expires_at: datetime | None = None,
) -> Registered:
    """Insert a user with a fresh key; call inside a transaction (409 on a taken name)."""
    if plan_id is None:
        plan_id = await conn.fetchval(queries.DEFAULT_PLAN_ID)
        if plan_id is None:
            raise NotFound("There is no free plan to register users on.")
        plan = await conn.fetchrow(queries.GET_PLAN, plan_id)
    else:
        plan = await conn.fetchrow(queries.GET_PLAN, plan_id)
        if plan is None:
            raise NotFound("Plan not found.")
    assert plan is not None
    if plan["free"]:
        expires_at = None
    try:
        user_id = await conn.fetchval(
            queries.INSERT_USER,
            username,
            email,
            password_hash,
            role,
            plan_id,
            None,
            expires_at,
            new_api_secret(),
        )
    except asyncpg.UniqueViolationError as exc:
        raise unique_conflict(exc) from exc
    key, _ = await issue_key(conn, user_id)
    row = await conn.fetchrow(queries.GET_USER, user_id)
    assert row is not None
    return Registered(user=dict(row), key=key)
