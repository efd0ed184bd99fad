"""The QR codes API (API.md section 10), served by the shared CRUD shape.

- Everything a request asks for is checked before anything is stored: the
  payload for its type, the colours (and that a phone can read them), the
  logo (fetched once, here, then kept normalized with the code), and that the
  data fits in a QR code with that logo.
- A ``link`` code is dynamic: it is backed by a hidden link (``links.qr_id``)
  whose alias is the code's own. The image carries the tracking URL
  ``<PUBLIC_BASE_URL>/<alias>``; the edge redirects each scan to the current
  ``data`` and records it as a click with source ``qr``. Changing ``data``
  rewrites the backing link (and its snapshot), so printed codes follow.
- Other types are static: the image carries the payload itself, so nothing is
  counted. Their ``scans`` are 0 and their stats block has zero counts (not
  ``null``, which means "analytics could not answer").
- ``link`` in every answer is ``<PUBLIC_BASE_URL>/qr/<alias>``, the image.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.aliases import generate_alias
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects
from services.links.keys import ANALYTICS, SAFE_FETCHER
from services.links.link_store import insert_link
from services.links.qr.colors import parse_colors, rgb_text
from services.links.qr.images import DYNAMIC_TYPE, image_payload, image_url, tracking_url
from services.links.qr.logo import fetch_logo
from services.links.qr.payloads import build_payload, parse_type, url_payload
from services.links.qr.render import ensure_fits, normalize_logo_async
from services.links.rows import Conn, Row
from services.links.snapshot import DEFAULT_HOST
from shared.appkeys import PG_POOL, SETTINGS
from shared.dates import format_datetime
from shared.envelope import ApiError, BadRequest, Conflict
from shared.identity import Principal
from shared.request_body import Body
from shared.settings import Settings

MAX_NAME_LENGTH: Final = 255
ALIAS_ATTEMPTS: Final = 10
NO_FREE_ALIAS: Final = "Could not find a free alias. Please retry."
TYPE_FIXED: Final = "The type of a QR code cannot be changed: delete the code and add a new one."


def untracked_stats() -> dict[str, Any]:
    """The stats block of a static code: a scan never reaches us, so nothing is counted."""
    return {
        "clicks": 0,
        "uniqueClicks": 0,
        "botClicks": 0,
        "topCountries": {},
        "topReferrers": {},
        "topBrowsers": {},
        "topOs": {},
        "socialCount": dict.fromkeys(("facebook", "twitter", "instagram", "linkedin", "google"), 0),
    }


# --- parsing -------------------------------------------------------------------


def _sent(body: Body, name: str) -> bool:
    """Sent with a value (``null`` and ``""`` ask for the default)."""
    return body.has(name) and body.raw(name) not in (None, "")


async def _free_alias(conn: Conn) -> str:
    """An unguessable alias unused as a short link and as a QR code. The unique
    indexes still decide under a race (the add then fails and can be retried)."""
    for _ in range(ALIAS_ATTEMPTS):
        alias = generate_alias()
        if not await conn.fetchval(queries.QR_ALIAS_TAKEN, alias):
            return alias
    raise ApiError(503, NO_FREE_ALIAS)


async def parse_qr(body: Body, ctx: ParseContext) -> dict[str, Any]:
    current = ctx.current
    app = ctx.request.app
    if current is None:
        qr_type: str = parse_type(body.raw("type"))
    else:
        qr_type = current["type"]
        if _sent(body, "type") and parse_type(body.raw("type")) != qr_type:
            raise BadRequest(TYPE_FIXED)
    if not _sent(body, "data"):
        raise BadRequest("The field 'data' is required.")
    data = body.raw("data")
    build_payload(qr_type, data)  # a 400 naming the field unless data suits the type
    values: dict[str, Any] = {"type": qr_type, "data": data, "updated_at": datetime.now(UTC)}

    if current is None or body.has("name"):
        values["name"] = body.text("name", max_length=MAX_NAME_LENGTH) or None

    def colour(name: str) -> Any:
        if body.has(name) or current is None:
            return body.raw(name)
        return current[name]

    foreground, background = parse_colors(colour("foreground"), colour("background"))
    values["foreground"], values["background"] = rgb_text(foreground), rgb_text(background)

    logo: bytes | None = current["logo"] if current is not None else None
    if _sent(body, "logo"):
        fetched = await fetch_logo(body.raw("logo"), ctx.settings, fetcher=app[SAFE_FETCHER])
        logo = values["logo"] = await normalize_logo_async(fetched)
    elif body.has("logo"):
        logo = values["logo"] = None

    if current is None:
        async with app[PG_POOL].acquire() as conn:
            values["alias"] = await _free_alias(conn)
    alias = values.get("alias") or (current["alias"] if current is not None else "")
    payload = image_payload(ctx.settings, qr_type, data, alias)
    await asyncio.to_thread(ensure_fits, payload, with_logo=logo is not None)
    return values


# --- answers ---------------------------------------------------------------------


def serialize_qr(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "link": image_url(settings, row["alias"]),
        "scans": 0,
        "name": row["name"],
        "date": format_datetime(row["created_at"]),
    }


async def present_qrs(
    request: web.Request, who: Principal, rows: Sequence[Row]
) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    link_ids = [row["link_id"] for row in rows if row["link_id"] is not None]
    counts = await request.app[ANALYTICS].counts(who, link_ids)
    items = []
    for row in rows:
        item = serialize_qr(row, settings)
        link_id = row["link_id"]
        if link_id is None:
            item["scans"] = 0  # a static code is not tracked
        else:  # null, not 0, when analytics cannot say
            item["scans"] = None if counts is None else counts.get(link_id, 0)
        items.append(item)
    return items


async def qr_details(request: web.Request, who: Principal, row: Row) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    stats: dict[str, Any] | None
    if row["link_id"] is not None:
        stats = await request.app[ANALYTICS].link_stats(who, row["link_id"])
        clicks = (stats or {}).get("clicks")
        scans: int | None = (
            clicks if isinstance(clicks, int) and not isinstance(clicks, bool) else None
        )
    else:
        stats, scans = untracked_stats(), 0
    details = serialize_qr(row, settings)
    details["scans"] = scans
    # Beyond the published shape: what the owner set, so an update can be checked.
    details.update(
        {
            "type": row["type"],
            "data": row["data"],
            "shorturl": tracking_url(settings, row["alias"])
            if row["type"] == DYNAMIC_TYPE
            else None,
            "background": row["background"],
            "foreground": row["foreground"],
            "logo": row["logo_sha256"] is not None,
            "channel": row["channel_id"],
            "updated": format_datetime(row["updated_at"]),
        }
    )
    return {"details": details, "data": stats}


def added(row: Row, settings: Settings) -> dict[str, Any]:
    return {"id": row["id"], "link": image_url(settings, row["alias"])}


# --- what a change means for the backing link ------------------------------------------


async def qr_saved(conn: Conn, row: Row, settings: Settings) -> Effects:
    """Create a dynamic code's backing link, or point it at the code's current data."""
    if row["type"] != DYNAMIC_TYPE:
        return Effects()
    destination = url_payload(row["data"])
    if row["link_id"] is None:
        values = {**queries.LINK_DEFAULTS, "long_url": destination}
        try:
            link_id, _ = await insert_link(conn, row["owner_id"], values, row["alias"])
        except Conflict as exc:  # taken since the alias was drawn
            raise ApiError(503, NO_FREE_ALIAS) from exc
        await conn.execute(queries.SET_LINK_QR, link_id, row["id"])
        await conn.execute(queries.SET_QR_LINK, row["id"], link_id)
    else:
        changed = await conn.fetchval(
            queries.SET_QR_DESTINATION, row["link_id"], row["id"], destination
        )
        if changed is None:
            return Effects()
    return Effects(links=[(DEFAULT_HOST, row["alias"])])


async def qr_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    """The backing link goes with the code: its snapshot is removed and its deletion announced."""
    if row["link_id"] is None:
        return Effects()
    links = await conn.fetch(queries.DELETE_QR_LINK, row["link_id"], row["id"])
    return Effects().removed_links(links, host=DEFAULT_HOST)


QR_CODES = Resource(
    name="qr",
    table="qr_codes",
    columns=(
        "name",
        "type",
        "data",
        "alias",
        "background",
        "foreground",
        "logo",
        "updated_at",
    ),
    read_columns=("link_id", "logo_sha256", "channel_id", "created_at"),
    unlisted=("logo",),
    parse=parse_qr,
    serialize=serialize_qr,
    present=present_qrs,
    get_response=qr_details,
    label="QR codes",
    list_path="/api/qr",
    items_key="qrs",
    conflict_message=NO_FREE_ALIAS,
    missing_message="QR code not found.",
    add_response=added,
    updated_message="QR has been updated successfully.",
    deleted_message="QR Code has been deleted successfully.",
    on_saved=qr_saved,
    on_delete=qr_deleting,
    # A dynamic code is a redirector like any link: it takes one of the plan's links.
    quota="links",
    quota_count=(queries.COUNT_OWNER_LINKS, "links"),
    counts_toward_quota=lambda values: values["type"] == DYNAMIC_TYPE,
)
