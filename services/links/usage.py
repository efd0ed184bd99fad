"""``POST /internal/usage``: how many links some users have, counted as their
plan's ``links`` quota counts them, for the usage the accounts service shows
against each limit (``GET /api/account``, an admin's user views)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from services.links import queries
from shared.appkeys import PG_POOL
from shared.envelope import BadRequest, Forbidden, json_response
from shared.request_body import positive_id, read_body
from shared.service import principal

# An admin's user list shows at most this many users a page.
MAX_OWNERS: Final = 1000


async def usage(request: web.Request) -> web.Response:
    if principal(request).role != "service":
        raise Forbidden("This endpoint is internal.")
    body = await read_body(request, allow_empty=False)
    owners = [
        positive_id(item)
        for item in body.array("owners", required=True, max_items=MAX_OWNERS) or []
    ]
    if any(owner is None for owner in owners):
        raise BadRequest("The field 'owners' must hold user ids.")
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(queries.COUNT_LINKS_BY_OWNER, owners)
    counts = {r["owner_id"]: r["count"] for r in rows}
    return json_response({"usage": {str(o): {"links": counts.get(o, 0)} for o in owners}})


ROUTES: Final = [web.post("/internal/usage", usage)]
