"""The stats API (``shared/CONTRACTS.md``, "Analytics internal API").

Callers are the links service, signing with the principal of the user it
acts for, and services or admins. A user may only ask about themselves:
another ``owner`` is a 404, exactly like a user that does not exist."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any, Final

from aiohttp import web

from services.analytics import stats
from services.analytics.stats import INTERVALS, MAX_POINTS, Interval, Range
from shared.appkeys import PG_POOL
from shared.dates import parse_datetime, utcnow
from shared.downloads import safe_cell
from shared.envelope import BadRequest, Forbidden, NotFound, json_response
from shared.request_body import path_id, positive_id, read_body
from shared.service import principal

routes = web.RouteTableDef()

MAX_LINK_IDS: Final = 1_000
DEFAULT_SPAN: Final[dict[str, timedelta]] = {
    "hour": timedelta(days=1),
    "day": timedelta(days=30),
    "month": timedelta(days=365),
}


def _parse_owner(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif (
        isinstance(raw, str)
        and raw.strip().isascii()
        and raw.strip().isdigit()
        and len(raw.strip()) <= 18
    ):
        value = int(raw.strip())
    else:
        raise BadRequest("The parameter 'owner' must be a positive integer.")
    if value <= 0:
        raise BadRequest("The parameter 'owner' must be a positive integer.")
    return value


def owner_for(request: web.Request, raw: Any) -> int:
    """The owner asked about, checked against the caller."""
    who = principal(request)
    if who.role == "anonymous":
        raise Forbidden()
    if raw is None or raw == "":
        if who.role == "service":
            raise BadRequest("The parameter 'owner' is required.")
        return who.user_id
    owner = _parse_owner(raw)
    if who.role == "user" and owner != who.user_id:
        raise NotFound()
    return owner


def query_moment(request: web.Request, name: str) -> Any:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    parsed = parse_datetime(raw)
    if parsed is None:
        raise BadRequest(f"The parameter '{name}' must be a date as YYYY-MM-DD HH:MM:SS.")
    return parsed


def requested_range(request: web.Request) -> Range:
    interval_raw = request.query.get("interval", "day").strip() or "day"
    if interval_raw not in INTERVALS:
        raise BadRequest("The parameter 'interval' must be one of: hour, day, month.")
    interval: Interval = interval_raw
    end = query_moment(request, "to") or utcnow()
    start = query_moment(request, "from") or end - DEFAULT_SPAN[interval]
    if start >= end:
        raise BadRequest("The parameter 'from' must be before 'to'.")
    span = Range.covering(start, end, interval)
    if len(span.buckets()) > MAX_POINTS:
        raise BadRequest(
            f"That range holds more than {MAX_POINTS} {interval}s; choose a larger interval."
        )
    return span


@routes.get("/internal/stats/links/{link_id}")
async def link_stats(request: web.Request) -> web.Response:
    link_id = path_id(request, "link_id")
    owner = owner_for(request, request.query.get("owner"))
    async with request.app[PG_POOL].acquire() as conn:
        return json_response(await stats.link_block(conn, link_id, owner))


@routes.get("/internal/stats/links/{link_id}/series")
async def link_series(request: web.Request) -> web.Response:
    link_id = path_id(request, "link_id")
    owner = owner_for(request, request.query.get("owner"))
    span = requested_range(request)
    async with request.app[PG_POOL].acquire() as conn:
        return json_response(await stats.link_series(conn, link_id, owner, span))


def series_csv(data: dict[str, Any]) -> str:
    """One CSV: the totals, the series, then each breakdown (no visitor data)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "name", "clicks", "uniqueClicks"])
    span = f"{data['from']} - {data['to']}"
    writer.writerow(["total", span, data["clicks"], data["uniqueClicks"]])
    writer.writerow(["bots", span, data["botClicks"], ""])
    for point in data["series"]:
        writer.writerow([data["interval"], point["date"], point["clicks"], point["uniqueClicks"]])
    for key, values in data.items():
        if key.startswith("top") or key == "socialCount":
            for name, clicks in values.items():
                writer.writerow([key, safe_cell(name), clicks, ""])
    return out.getvalue()


@routes.get("/internal/stats/links/{link_id}/export")
async def link_export(request: web.Request) -> web.Response:
    link_id = path_id(request, "link_id")
    owner = owner_for(request, request.query.get("owner"))
    who = principal(request)
    if who.role == "user" and not who.has_feature("export"):
        raise Forbidden("Your plan does not include exporting statistics.")
    span = requested_range(request)
    async with request.app[PG_POOL].acquire() as conn:
        data = await stats.link_series(conn, link_id, owner, span)
    return web.Response(
        text=series_csv(data),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="link-{link_id}-stats.csv"'},
    )


@routes.post("/internal/stats/counts")
async def link_counts(request: web.Request) -> web.Response:
    body = await read_body(request, allow_empty=False)
    owner = owner_for(request, body.raw("owner"))
    raw_ids = body.array("link_ids", required=True, max_items=MAX_LINK_IDS) or []
    link_ids: list[int] = []
    for item in raw_ids:
        if not isinstance(item, int) or isinstance(item, bool) or not 0 < item < 2**63:
            raise BadRequest("The field 'link_ids' must hold positive integers.")
        link_ids.append(item)
    async with request.app[PG_POOL].acquire() as conn:
        counts = await stats.link_counts(conn, owner, link_ids)
    return json_response({"counts": counts})


@routes.get("/internal/stats/ranking")
async def link_ranking(request: web.Request) -> web.Response:
    owner = owner_for(request, request.query.get("owner"))
    async with request.app[PG_POOL].acquire() as conn:
        return json_response({"links": await stats.ranking(conn, owner)})


@routes.get("/internal/usage/{user_id}")
async def usage(request: web.Request) -> web.Response:
    owner = owner_for(request, str(path_id(request, "user_id")))
    async with request.app[PG_POOL].acquire() as conn:
        return json_response(await stats.usage_this_month(conn, owner, utcnow().date()))


@routes.post("/internal/usage")
async def usage_of_owners(request: web.Request) -> web.Response:
    """:func:`usage` of several users at once (an admin's user list), for services only."""
    if principal(request).role != "service":
        raise Forbidden("This endpoint is internal.")
    body = await read_body(request, allow_empty=False)
    raw = body.array("owners", required=True, max_items=MAX_LINK_IDS) or []
    owners = [positive_id(item) for item in raw]
    if any(owner is None for owner in owners):
        raise BadRequest("The field 'owners' must hold user ids.")
    async with request.app[PG_POOL].acquire() as conn:
        found = await stats.usage_by_owner(
            conn, [o for o in owners if o is not None], utcnow().date()
        )
    return json_response({"usage": {str(owner): item for owner, item in found.items()}})


@routes.get("/internal/worker/progress")
async def worker_progress(request: web.Request) -> web.Response:
    """When the newest click the workers have counted happened (null: none yet):
    with clicks waiting in the queue, how far behind real time the counts are."""
    if principal(request).role != "service":
        raise Forbidden("This endpoint is internal.")
    async with request.app[PG_POOL].acquire() as conn:
        newest = await conn.fetchval(NEWEST_COUNTED_CLICK)
    return json_response({"newest_counted_at": newest.timestamp() if newest else None})


# link_totals holds one row per clicked link: the newest of their last clicks is
# the newest click counted, without reading the raw partitions.
NEWEST_COUNTED_CLICK: Final = "SELECT max(last_click_at) FROM link_totals"


@routes.post("/internal/stats/bio/{link_id}")
async def bio_stats(request: web.Request) -> web.Response:
    """A bio page's figures: its views (the clicks of its link), and the clicks of
    each block named in the body's ``blocks`` (0 for a block never clicked)."""
    link_id = path_id(request, "link_id")
    owner = owner_for(request, request.query.get("owner"))
    body = await read_body(request)
    blocks = [positive_id(item) for item in body.array("blocks", max_items=MAX_LINK_IDS) or []]
    if any(block is None for block in blocks):
        raise BadRequest("The field 'blocks' must hold block ids.")
    async with request.app[PG_POOL].acquire() as conn:
        return json_response(await stats.bio_block(conn, link_id, owner, blocks))
