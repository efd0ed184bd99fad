"""Account-level stats: totals, the time series and the breakdowns across all
of an owner's links (or a subset the links service names: the links with a
tag, on a domain, in a campaign), and totals per group of links.

The analytics service knows links only by id; which links carry a tag or sit
on a domain is the links service's knowledge, so it sends the ids. Every id is
checked against the owner (``link_totals.owner_id``): another owner's link
counts nothing. Like the per-link stats, everything reads the rollups."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from services.analytics import queries
from services.analytics.handlers import owner_for, requested_range
from services.analytics.stats import series_answer
from shared.appkeys import PG_POOL
from shared.dates import format_datetime
from shared.envelope import BadRequest, json_response
from shared.request_body import Body, read_body

MAX_IDS: Final = 100_000
MAX_GROUPS: Final = 1_000
_ID_LIMIT: Final = 2**63


def _ids(value: Any, name: str) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise BadRequest(f"The field '{name}' must be an array of at most {MAX_IDS} link ids.")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < _ID_LIMIT for i in value):
        raise BadRequest(f"The field '{name}' must hold positive integers.")
    return value


async def account_series(request: web.Request) -> web.Response:
    """Body ``{"owner", "link_ids": [..] or null (all the owner's links)}``;
    ``from``, ``to``, ``interval`` in the query, as for one link."""
    body: Body = await read_body(request, allow_empty=False)
    owner = owner_for(request, body.raw("owner"))
    raw_ids = body.raw("link_ids")
    link_ids = None if raw_ids is None else _ids(raw_ids, "link_ids")
    span = requested_range(request)
    first_day, end_day = span.days
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(
            queries.ACCOUNT_SERIES, owner, link_ids, span.interval, span.start, span.end
        )
        dim_rows = await conn.fetch(queries.ACCOUNT_RANGE_DIMS, owner, link_ids, first_day, end_day)
    return json_response(series_answer(span, rows, dim_rows))


async def group_totals(request: web.Request) -> web.Response:
    """Body ``{"owner", "groups": {"<key>": [link ids]}}`` → ``{"groups": {"<key>":
    {"clicks", "uniqueClicks", "botClicks"}}}`` over the requested range."""
    body = await read_body(request, allow_empty=False)
    owner = owner_for(request, body.raw("owner"))
    groups = body.mapping("groups", required=True) or {}
    if len(groups) > MAX_GROUPS:
        raise BadRequest(f"The field 'groups' may hold at most {MAX_GROUPS} groups.")
    keys: list[str] = []
    ids: list[int] = []
    for key, value in groups.items():
        members = _ids(value, "groups")
        keys += [key] * len(members)
        ids += members
    if len(ids) > MAX_IDS:
        raise BadRequest(f"The field 'groups' may hold at most {MAX_IDS} link ids in all.")
    span = requested_range(request)
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(queries.GROUP_TOTALS, owner, keys, ids, span.start, span.end)
    found = {r["key"]: r for r in rows}
    zero = {"clicks": 0, "unique_clicks": 0, "bot_clicks": 0}
    return json_response(
        {
            "from": format_datetime(span.start),
            "to": format_datetime(span.end),
            "groups": {
                key: {
                    "clicks": found.get(key, zero)["clicks"],
                    "uniqueClicks": found.get(key, zero)["unique_clicks"],
                    "botClicks": found.get(key, zero)["bot_clicks"],
                }
                for key in groups
            },
        }
    )


ROUTES: Final = [
    web.post("/internal/stats/account", account_series),
    web.post("/internal/stats/groups", group_totals),
]
