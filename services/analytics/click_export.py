"""The raw click export: an owner's clicks (of one link, or all) over a date
range as CSV, streamed from a server-side cursor a chunk at a time.

Visitors appear as the analytics worker stored them: an address prefix (/24 or
/48), never a full address, and no visitor hash. Bots are included, flagged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from aiohttp import web

from services.analytics import queries
from services.analytics.handlers import owner_for, query_moment
from shared.appkeys import PG_POOL
from shared.dates import format_datetime, utcnow
from shared.downloads import CSV_TYPE, csv_bytes, safe_cell, start_download
from shared.envelope import BadRequest, Forbidden
from shared.service import principal

CHUNK: Final = 2_000
DEFAULT_SPAN: Final = timedelta(days=30)
COLUMNS: Final = (
    "date",
    "link",
    "source",
    "qr",
    "campaign",
    "ip",
    "country",
    "city",
    "browser",
    "os",
    "device",
    "referrer",
    "social",
    "language",
    "bot",
)


def _cells(row: Any) -> list[Any]:
    return [
        format_datetime(row["occurred_at"]),
        row["link_id"],
        row["source"],
        row["qr_id"] or "",
        row["campaign_id"] or "",
        "" if row["ip_prefix"] is None else str(row["ip_prefix"]),
        row["country"],
        safe_cell(row["city"]),
        safe_cell(row["browser"]),
        safe_cell(row["os"]),
        safe_cell(row["device"]),
        safe_cell(row["referrer_host"]),
        row["social"] or "",
        safe_cell(row["language"]),
        "1" if row["is_bot"] else "0",
    ]


async def export_clicks(request: web.Request) -> web.StreamResponse:
    owner = owner_for(request, request.query.get("owner"))
    who = principal(request)
    if who.role == "user" and not who.has_feature("export"):
        raise Forbidden("Your plan does not include exporting statistics.")
    link_raw = request.query.get("link", "").strip()
    if link_raw and (not (link_raw.isascii() and link_raw.isdigit()) or len(link_raw) > 18):
        raise BadRequest("The parameter 'link' must be a link id.")
    link_id = int(link_raw) if link_raw else None
    end = query_moment(request, "to") or utcnow()
    start = query_moment(request, "from") or end - DEFAULT_SPAN
    if start >= end:
        raise BadRequest("The parameter 'from' must be before 'to'.")
    name = f"link-{link_id}-clicks.csv" if link_id else "clicks.csv"
    async with request.app[PG_POOL].acquire() as conn, conn.transaction(readonly=True):
        cursor = await conn.cursor(queries.EXPORT_CLICKS, owner, link_id, start, end)
        resp = await start_download(request, CSV_TYPE, name)
        await resp.write(csv_bytes([COLUMNS]))
        while rows := await cursor.fetch(CHUNK):
            await resp.write(csv_bytes(_cells(row) for row in rows))
    await resp.write_eof()
    return resp


ROUTES: Final = [web.get("/internal/clicks/export", export_clicks)]
