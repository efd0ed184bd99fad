"""``POST /internal/principal``: the gateway turns a bearer key's hash into the
principal it signs requests with (shared/CONTRACTS.md). With ``workspace`` (an
owner's id, from the client's ``X-Workspace``), a team member's key resolves
to the owner's principal with the member as ``actor_id`` and their permissions."""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from services.accounts import queries
from services.accounts.access import service
from services.accounts.user_views import principal_json
from shared.appkeys import PG_POOL, SETTINGS
from shared.envelope import BadRequest, Forbidden, NotFound, json_response
from shared.request_body import read_body

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
NOT_A_MEMBER: Final = "You are not a member of workspace {id}: check the X-Workspace header."


async def resolve(request: web.Request) -> web.Response:
    service(request)
    body = await read_body(request)
    key_hash = (body.text("key_hash", required=True, max_length=64) or "").lower()
    if not _SHA256_HEX.fullmatch(key_hash):
        raise BadRequest("The field 'key_hash' must be a sha256 hex digest.")
    workspace = body.integer("workspace", min_value=1)
    async with request.app[PG_POOL].acquire() as conn:
        if workspace is not None:
            row = await conn.fetchrow(queries.RESOLVE_WORKSPACE_KEY, key_hash, workspace)
            if row is not None:
                answer = principal_json(row, request.app[SETTINGS])
                answer["actor_id"] = row["member_id"]
                answer["permissions"] = list(row["permissions"])
                return json_response(answer)
        row = await conn.fetchrow(queries.RESOLVE_KEY, key_hash)
    if row is None:
        # unknown, revoked, expired, or its user deleted: all the same to a caller
        raise NotFound("Unknown API key.")
    if workspace is not None and workspace != row["id"]:
        raise Forbidden(NOT_A_MEMBER.format(id=workspace))
    return json_response(principal_json(row, request.app[SETTINGS]))


def routes() -> list[web.RouteDef]:
    return [web.post("/internal/principal", resolve)]
