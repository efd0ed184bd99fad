"""Teams (extension): an owner invites members by email, lists, changes and
removes them. Members work in the owner's workspace through the gateway
(``X-Workspace: <owner id>``), which signs their requests as the owner with
the member as ``actor_id`` and refuses what their permissions do not allow.

Plan: ``team.enabled`` gates the whole feature, ``team.count`` (0: unlimited)
caps members plus open invitations, counted under a lock on the owner's row so
concurrent invitations and acceptances never exceed it. A removal or a change
of permissions evicts the member's cached principals at once (response header
through the gateway, and ``team.changed`` through the outbox)."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from services.accounts import queries
from services.accounts.access import caller
from services.accounts.credentials import new_token
from services.accounts.notices import announce, invalidate
from services.accounts.rows import Conn, Row
from services.accounts.team_permissions import read_permissions
from shared import outbox
from shared.appkeys import PG_POOL
from shared.dates import format_datetime
from shared.envelope import BadRequest, Conflict, Forbidden, NotFound, json_response, ok
from shared.events import TEAM_CHANGED, Event, TeamChanged, new_event
from shared.identity import Principal
from shared.pagination import Page
from shared.request_body import path_id, read_body

INVITATION_TTL: Final = 7 * 24 * 3600  # seconds an invitation stays usable
NO_TEAMS: Final = "Your plan does not include teams (the 'team' feature)."


def team_owner(request: web.Request) -> Principal:
    """The owner whose team this is (the workspace's owner for a member the
    gateway let through with the ``team`` permission); 403 without the plan feature."""
    who = caller(request)
    if not who.has_feature("team"):
        raise Forbidden(NO_TEAMS)
    return who


def seats_refusal(who: Principal) -> Forbidden:
    return Forbidden(
        f"Your plan allows {who.quota('team')} team members (the 'team' limit), "
        "open invitations included."
    )


async def lock_owner(conn: Conn, owner_id: int) -> None:
    if await conn.fetchval(queries.LOCK_TEAM_OWNER, owner_id) is None:
        raise NotFound("Account not found.")


def team_changed(owner_id: int, member_id: int) -> Event:
    return new_event(TEAM_CHANGED, TeamChanged(owner_id=owner_id, user_id=member_id))


def member_json(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "userid": row["member_id"],
        "username": row["username"],
        "email": row["email"],
        "permissions": list(row["permissions"]),
        "date": format_datetime(row["created_at"]),
        "updated": format_datetime(row["updated_at"]),
    }


def invitation_json(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "permissions": list(row["permissions"]),
        "expires": format_datetime(row["expires_at"]),
        "date": format_datetime(row["created_at"]),
    }


def accept_link(request: web.Request, token: str) -> str:
    """Where the invitee accepts: this API as the client called it (the gateway's
    forwarded scheme and host)."""
    proto = request.headers.get("X-Forwarded-Proto") or request.scheme
    host = request.headers.get("X-Forwarded-Host") or request.host
    return f"{proto}://{host}/api/team/accept?token={token}"


async def invite(request: web.Request) -> web.Response:
    who = team_owner(request)
    body = await read_body(request)
    email = body.email("email", required=True)
    permissions = read_permissions(body, required=True)
    assert email is not None
    token, token_hash = new_token()
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        await lock_owner(conn, who.user_id)
        existing = await conn.fetchval(queries.USER_BY_EMAIL, email)
        if existing == who.user_id:
            raise BadRequest("You cannot invite yourself to your own team.")
        if existing is not None and await conn.fetchval(queries.IS_MEMBER, who.user_id, existing):
            raise Conflict("This person is already a member of your team.")
        if await conn.fetchval(queries.OPEN_INVITATION_FOR, who.user_id, email):
            raise Conflict("This email address already has an open invitation.")
        limit = who.quota("team")
        if limit and await conn.fetchval(queries.COUNT_TEAM_SEATS, who.user_id, None) >= limit:
            raise seats_refusal(who)
        row = await conn.fetchrow(
            queries.INSERT_INVITATION, who.user_id, email, permissions, token_hash, INVITATION_TTL
        )
    assert row is not None
    return ok(
        message="Invitation created: send the link to the invitee (it works once).",
        id=row["id"],
        data={
            "id": row["id"],
            "email": email,
            "permissions": permissions,
            "token": token,  # shown only here; stored hashed
            "link": accept_link(request, token),
            "expires": format_datetime(row["expires_at"]),
        },
    )


async def list_team(request: web.Request) -> web.Response:
    who = team_owner(request)
    page = Page.from_query(request.query)
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(queries.LIST_MEMBERS, who.user_id, page.limit, page.offset)
        total = await conn.fetchval(queries.COUNT_MEMBERS, who.user_id)
        invitations = await conn.fetch(queries.LIST_INVITATIONS, who.user_id)
    data = page.body("members", [member_json(r) for r in rows], total)
    data["invitations"] = [invitation_json(r) for r in invitations]
    data["limit"] = who.quota("team")
    return ok(data=data)


async def update_member(request: web.Request) -> web.Response:
    who = team_owner(request)
    member_row_id = path_id(request)
    permissions = read_permissions(await read_body(request), required=True)
    async with outbox.transaction(request.app) as conn:
        member_id = await conn.fetchval(
            queries.UPDATE_MEMBER, member_row_id, who.user_id, permissions
        )
        if member_id is None:
            raise NotFound("Team member not found.")
        await announce(conn, team_changed(who.user_id, member_id))
        row = await conn.fetchrow(queries.GET_MEMBER, member_row_id, who.user_id)
    assert row is not None
    return json_response(
        {"error": 0, "message": "Team member has been updated.", "data": member_json(row)},
        headers=invalidate(f"user:{member_id}"),
    )


async def delete_member(request: web.Request) -> web.Response:
    who = team_owner(request)
    member_row_id = path_id(request)
    async with outbox.transaction(request.app) as conn:
        member_id = await conn.fetchval(queries.DELETE_MEMBER, member_row_id, who.user_id)
        if member_id is None:
            raise NotFound("Team member not found.")
        await announce(conn, team_changed(who.user_id, member_id))
    return json_response(
        {"error": 0, "message": "Team member has been removed."},
        headers=invalidate(f"user:{member_id}"),
    )


async def list_workspaces(request: web.Request) -> web.Response:
    """The teams the caller belongs to: the ids to send as ``X-Workspace``."""
    who = caller(request)
    if who.actor_id is not None:
        raise Forbidden("List your workspaces without X-Workspace.")
    page = Page.from_query(request.query)
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(queries.LIST_WORKSPACES, who.user_id, page.limit, page.offset)
        total = await conn.fetchval(queries.COUNT_WORKSPACES, who.user_id)
    items = [
        {
            "workspace": r["owner_id"],
            "owner": r["username"],
            "permissions": list(r["permissions"]),
            "date": format_datetime(r["created_at"]),
        }
        for r in rows
    ]
    return ok(data=page.body("workspaces", items, total))


async def withdraw_invitation(request: web.Request) -> web.Response:
    """An open invitation taken back: its link stops working, its seat is free."""
    who = team_owner(request)
    invitation_id = path_id(request)
    async with request.app[PG_POOL].acquire() as conn:
        if await conn.fetchval(queries.DELETE_INVITATION, invitation_id, who.user_id) is None:
            raise NotFound("Invitation not found.")
    return ok(message="Invitation has been withdrawn.")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/team", list_team),
        web.get("/api/team/workspaces", list_workspaces),
        web.post("/api/team/invite", invite),
        web.put(r"/api/team/{id:\d+}/update", update_member),
        web.delete(r"/api/team/{id:\d+}/delete", delete_member),
        web.delete(r"/api/team/invitation/{id:\d+}/delete", withdraw_invitation),
    ]
