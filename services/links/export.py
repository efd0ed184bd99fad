"""Getting links and clicks out again, streamed.

``GET /api/urls/export`` writes every link of the caller, with all its options
and its click total, as CSV (``?format=jsonl``: one JSON object per line). The
rows come from a server-side cursor and go out in chunks of ``CHUNK`` links
(one click-count lookup per chunk), so memory stays flat whatever the number
of links. The CSV's first columns are those ``shortener import csv`` reads
(url, alias, title, tags, created): an export can be imported elsewhere.

``GET /api/url/{id}/clicks/export`` and ``GET /api/urls/clicks/export`` relay
the analytics service's raw click export (CSV, streamed; addresses only as
stored: a /24 or /48 prefix) for a date range. They need the plan feature
``export``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import orjson
from aiohttp import web
from yarl import URL

from services.links import queries
from services.links.access import caller, require_feature
from services.links.keys import ANALYTICS
from services.links.link_handlers import owned_link
from services.links.link_store import short_url
from services.links.rows import Row
from shared import identity
from shared.appkeys import PG_POOL, SETTINGS
from shared.dates import format_datetime
from shared.downloads import (
    CSV_TYPE,
    JSONL_TYPE,
    csv_bytes,
    jsonl_bytes,
    safe_cell,
    start_download,
)
from shared.envelope import ApiError, BadRequest
from shared.identity import Principal

log = logging.getLogger("services.links.export")

CHUNK: Final = 500
COLUMNS: Final = (
    "url",
    "alias",
    "title",
    "tags",
    "created",
    "id",
    "shorturl",
    "domain",
    "description",
    "status",
    "type",
    "password",
    "expiry",
    "clicklimit",
    "expirationredirect",
    "metatitle",
    "metadescription",
    "metaimage",
    "deeplink",
    "geotarget",
    "devicetarget",
    "languagetarget",
    "parameters",
    "pixels",
    "channel",
    "campaign",
    "updated",
    "clicks",
)
_TEXT: Final = ("title", "description", "metatitle", "metadescription")
_STRUCTURED: Final = ("deeplink", "geotarget", "devicetarget", "languagetarget", "parameters")
CLICK_PARAMS: Final = ("from", "to")


def link_record(row: Row, base_url: str, clicks: int | None) -> dict[str, Any]:
    """One exported link, JSON-shaped (``clicks`` None: analytics could not say)."""
    return {
        "url": row["long_url"],
        "alias": row["alias"],
        "title": row["title"],
        "tags": list(row["tags"]),
        "created": format_datetime(row["created_at"]),
        "id": row["id"],
        "shorturl": short_url(base_url, row),
        "domain": row["domain_host"],
        "description": row["description"],
        "status": row["status"],
        "type": row["type"],
        "password": row["password_hash"] is not None,
        "expiry": format_datetime(row["expires_at"]),
        "clicklimit": row["click_limit"],
        "expirationredirect": row["expiration_redirect"],
        "metatitle": row["meta_title"],
        "metadescription": row["meta_description"],
        "metaimage": row["meta_image"],
        "deeplink": row["deeplink"],
        "geotarget": row["geotarget"],
        "devicetarget": row["devicetarget"],
        "languagetarget": row["languagetarget"],
        "parameters": row["parameters"],
        "pixels": list(row["pixel_ids"] or []),
        "channel": row["channel_id"],
        "campaign": row["campaign_id"],
        "updated": format_datetime(row["updated_at"]),
        "clicks": clicks,
    }


def csv_row(record: Mapping[str, Any]) -> list[Any]:
    """A link record as CSV cells: lists joined, structures as JSON, text made formula-safe."""
    cells: list[Any] = []
    for column in COLUMNS:
        value = record[column]
        if column in ("tags", "pixels"):
            value = ",".join(str(v) for v in value)
        elif column in _STRUCTURED:
            value = "" if value is None else orjson.dumps(value).decode()
        elif column == "password":
            value = "1" if value else ""
        elif column in _TEXT:
            value = safe_cell(value)
        cells.append("" if value is None else value)
    return cells


async def _clicks(request: web.Request, who: Principal, ids: list[int]) -> dict[int, int] | None:
    """Clicks per link; ``None`` when analytics cannot say (an empty cell, never 0)."""
    return await request.app[ANALYTICS].counts(who, ids)


async def export_links(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    wanted = request.query.get("format", "csv")
    if wanted not in ("csv", "jsonl"):
        raise BadRequest("The parameter 'format' must be 'csv' or 'jsonl'.")
    base_url = request.app[SETTINGS].public_base_url
    async with request.app[PG_POOL].acquire() as conn, conn.transaction(readonly=True):
        cursor = await conn.cursor(queries.EXPORT_LINKS, who.user_id)
        if wanted == "csv":
            resp = await start_download(request, CSV_TYPE, "links.csv")
            await resp.write(csv_bytes([COLUMNS]))
        else:
            resp = await start_download(request, JSONL_TYPE, "links.jsonl")
        while rows := await cursor.fetch(CHUNK):
            counts = await _clicks(request, who, [row["id"] for row in rows])
            records = [
                link_record(row, base_url, None if counts is None else counts.get(row["id"], 0))
                for row in rows
            ]
            if wanted == "csv":
                await resp.write(csv_bytes(csv_row(r) for r in records))
            else:
                await resp.write(jsonl_bytes(records))
    await resp.write_eof()
    return resp


async def _relay_clicks(
    request: web.Request, params: dict[str, str], filename: str
) -> web.StreamResponse:
    """Stream the analytics service's click export through, or relay its error."""
    who = caller(request)
    client = request.app[ANALYTICS]
    settings = request.app[SETTINGS]
    url = URL(settings.analytics_url + "/internal/clicks/export").with_query(params)
    # signed over the path and query exactly as they go out
    headers = identity.signed_headers(who, settings.internal_secret, "GET", url.raw_path_qs)
    resp: web.StreamResponse | None = None
    try:
        async with client.session.get(
            url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=settings.upstream_connect_timeout, sock_read=60
            ),
        ) as upstream:
            if upstream.status >= 500:
                raise ApiError(502, "The statistics service failed. Please retry later.")
            if upstream.status != 200:  # its own JSON refusal (400, 403, 404)
                body = await upstream.read()
                return web.Response(
                    status=upstream.status, body=body, content_type="application/json"
                )
            resp = await start_download(request, CSV_TYPE, filename)
            async for chunk in upstream.content.iter_chunked(1 << 16):
                await resp.write(chunk)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("click export from analytics failed: %r", exc)
        if resp is None:
            raise ApiError(
                503, "Statistics are unavailable right now. Please retry later."
            ) from exc
        if request.transport is not None:  # too late for an error answer: cut it short
            request.transport.abort()
        return resp
    await resp.write_eof()
    return resp


def _range_params(request: web.Request, who: Principal) -> dict[str, str]:
    require_feature(who, "export", "exporting statistics")
    params = {"owner": str(who.user_id)}
    for name in CLICK_PARAMS:
        value = request.query.get(name, "").strip()
        if value:
            if len(value) > 32:
                raise BadRequest(f"The parameter '{name}' is too long.")
            params[name] = value
    return params


async def export_link_clicks(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    params = _range_params(request, who)
    link_id = await owned_link(request)
    params["link"] = str(link_id)
    return await _relay_clicks(request, params, f"link-{link_id}-clicks.csv")


async def export_account_clicks(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    return await _relay_clicks(request, _range_params(request, who), "clicks.csv")


ROUTES: Final = [
    web.get("/api/urls/export", export_links),
    web.get("/api/urls/clicks/export", export_account_clicks),
    web.get("/api/url/{id}/clicks/export", export_link_clicks),
]
