"""``POST /api/team/accept``: the invitee joins the owner's team.

Without an API key (the gateway forwards it unauthenticated, limited per
address) the invitation makes a new account: ``password`` (and optionally
``username``) are required, the answer shows its API key once. With a key, the
account of that key joins; its email address must be the invited one. The
token works once (consumed by a conditional update, so two acceptances racing
get one success) and only until it expires."""

from __future__ import annotations

import re
import secrets
from typing import Any, Final

from aiohttp import web

from services.accounts import queries
from services.accounts.credentials import sha256_hex
from services.accounts.notices import announce, plan_changed
from services.accounts.plan_limits import canonical
from services.accounts.registration import USERNAME_RE, read_password, register
from services.accounts.rows import Conn
from services.accounts.team import lock_owner, team_changed
from shared import outbox
from shared.envelope import ApiError, BadRequest, Conflict, Forbidden, NotFound, ok
from shared.identity import Principal
from shared.passwords import hash_password_async
from shared.request_body import Body, read_body
from shared.service import principal

UNUSABLE: Final = "This invitation has already been used or has expired."
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{20,128}")


def _token(request: web.Request, body: Body) -> str:
    token = body.text("token", max_length=128) or request.query.get("token", "")
    if not token:
        raise BadRequest("The field 'token' is required (from the invitation link).")
    if not _TOKEN_RE.fullmatch(token):
        raise NotFound("Unknown invitation.")
    return token


def _username_from(email: str) -> str:
    """A username for a new member who sent none: the email's local part, tidied."""
    local = re.sub(r"[^A-Za-z0-9_.-]", "", email.split("@", 1)[0])[:24].lstrip("._-")
    base = local if len(local) >= 3 else f"member{local}"
    return f"{base}-{secrets.token_hex(3)}"


def _read_username(body: Body, email: str) -> str:
    value = body.text("username", max_length=32)
    if not value:
        return _username_from(email)
    if not USERNAME_RE.fullmatch(value):
        raise BadRequest(
            "The field 'username' must be 3 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return value


async def _seat_free(conn: Conn, owner_id: int) -> None:
    """The owner's plan, read now (it may have changed since the invitation), still has a seat."""
    row = await conn.fetchrow(queries.GET_USER, owner_id)
    assert row is not None  # locked by the caller
    if row["role"] == "admin":
        return
    limits = canonical(row["limits"])
    team = limits["team"]
    if team["enabled"] != "1":
        raise Forbidden("The team owner's plan no longer includes teams.")
    limit = int(team["count"])
    if limit and await conn.fetchval(queries.COUNT_MEMBERS, owner_id) >= limit:
        raise Forbidden(f"The team is full: its plan allows {limit} members.")


async def accept(request: web.Request) -> web.Response:
    who = principal(request)
    if who.role not in ("anonymous", "user", "admin") or who.actor_id is not None:
        raise Forbidden("Accept an invitation with your own account, not in a workspace.")
    body = await read_body(request)
    token = _token(request, body)
    signed_in = who.role != "anonymous"
    password = None if signed_in else read_password(body, required=True)
    password_hash = await hash_password_async(password) if password is not None else None
    async with outbox.transaction(request.app) as conn:
        invitation = await conn.fetchrow(queries.FIND_INVITATION, sha256_hex(token))
        if invitation is None:
            raise NotFound("Unknown invitation.")
        if not invitation["usable"]:
            raise ApiError(410, UNUSABLE)
        owner_id = invitation["owner_id"]
        await lock_owner(conn, owner_id)
        await _seat_free(conn, owner_id)
        made: dict[str, Any] = {}
        if signed_in:
            member_id = await _existing_member(conn, who, invitation["email"])
        else:
            assert password_hash is not None
            member_id = await _new_member(conn, body, invitation["email"], password_hash, made)
        if member_id == owner_id:
            raise BadRequest("You cannot join your own team.")
        if await conn.fetchval(queries.USE_INVITATION, invitation["id"], member_id) is None:
            raise ApiError(410, UNUSABLE)  # another acceptance won the race
        row_id = await conn.fetchval(
            queries.INSERT_MEMBER, owner_id, member_id, invitation["permissions"]
        )
        if row_id is None:
            raise Conflict("You are already a member of this team.")
        await announce(conn, team_changed(owner_id, member_id))
        owner = await conn.fetchval(queries.USERNAME_OF, owner_id)
    return ok(
        message=f"You have joined the team of {owner}. "
        f"Send 'X-Workspace: {owner_id}' with your API key to work in it.",
        data={
            "id": row_id,
            "workspace": owner_id,
            "userid": member_id,
            "permissions": list(invitation["permissions"]),
            **made,
        },
    )


async def _existing_member(conn: Conn, who: Principal, email: str) -> int:
    row = await conn.fetchrow(queries.GET_USER, who.user_id)
    if row is None:
        raise NotFound("Account not found.")
    if row["email"].lower() != email.lower():
        raise Forbidden("This invitation was sent to another email address.")
    return who.user_id


async def _new_member(
    conn: Conn, body: Body, email: str, password_hash: str, made: dict[str, Any]
) -> int:
    if await conn.fetchval(queries.USER_BY_EMAIL, email) is not None:
        raise Conflict(
            "An account with this email address exists: accept the invitation with its API key "
            "(Authorization: Bearer <key>) instead of a password."
        )
    registered = await register(
        conn, username=_read_username(body, email), email=email, password_hash=password_hash
    )
    user = registered.user
    await announce(
        conn,
        plan_changed(
            user["effective_plan_id"], user["id"], canonical(user["limits"]), role=user["role"]
        ),
    )
    made.update(username=user["username"], apikey=registered.key.key)  # shown once
    return int(user["id"])


def routes() -> list[web.RouteDef]:
    return [web.post("/api/team/accept", accept)]
