"""``POST /internal/principal``: the gateway turns a bearer key's hash into the
principal it signs requests with (shared/CONTRACTS.md)."""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from services.accounts import queries
from services.accounts.access import service
from services.accounts.user_views import principal_json
from shared.appkeys import PG_POOL, SETTINGS
from shared.envelope import BadRequest, NotFound, json_response
from shared.request_body import read_body

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


async def resolve(request: web.Request) -> web.Response:
    service(request)
    body = await read_body(request)
    key_hash = (body.text("key_hash", required=True, max_length=64) or "").lower()
    if not _SHA256_HEX.fullmatch(key_hash):
        raise BadRequest("The field 'key_hash' must be a sha256 hex digest.")
    async with request.app[PG_POOL].acquire() as conn:
        row = await conn.fetchrow(queries.RESOLVE_KEY, key_hash)
    if row is None:
        # unknown, revoked, expired, or its user deleted: all the same to a caller
        raise NotFound("Unknown API key.")
    return json_response(principal_json(row, request.app[SETTINGS]))


def routes() -> list[web.RouteDef]:
    return [web.post("/internal/principal", resolve)]
