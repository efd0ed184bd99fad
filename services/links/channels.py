"""Channels (API.md section 8), served by the shared CRUD shape: named,
coloured folders of a user's links and QR codes.

``GET /api/channel/:id`` lists the channel's items (links, QR codes and bio
pages), and ``POST
/api/channel/:channelid/assign/:type/:itemid`` puts one of the caller's items
in it. Deleting a channel leaves its items, unassigned. Channels are not part
of any link snapshot: nothing here concerns the edge."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.access import caller
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects
from services.links.link_store import short_url
from services.links.page_fields import color, optional_text, required_name
from services.links.rows import Conn, Row
from shared.appkeys import PG_POOL, SETTINGS
from shared.dates import format_datetime
from shared.envelope import BadRequest, NotFound, ok
from shared.identity import Principal
from shared.pagination import Page
from shared.request_body import Body, path_id
from shared.settings import Settings

ITEM_TYPES: Final = ("links", "bio", "qr")


async def parse_channel(body: Body, ctx: ParseContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ctx.creating or body.has("name"):
        values["name"] = required_name(body)
    if body.has("description"):
        values["description"] = optional_text(body, "description", 1000)
    if body.has("color"):
        raw = body.raw("color")
        values["color"] = None if raw in (None, "") else color(raw, "color")
    if body.has("starred") and body.raw("starred") is not None:
        values["starred"] = body.boolean("starred")
    elif ctx.creating:
        values["starred"] = False
    return values


def serialize_channel(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "color": row["color"],
        "starred": row["starred"],
    }


def _item(row: Row, base: str) -> dict[str, Any]:
    if row["kind"] == "qr":
        image = f"{base}/qr/{row['alias']}"
        return {
            "type": "qr",
            "id": row["id"],
            "title": row["title"],
            "preview": image,
            "link": image,
            "date": format_datetime(row["created_at"]),
        }
    link = {"alias": row["alias"], "domain_host": row["host"], "domain_scheme": row["scheme"]}
    short = short_url(base, link)
    return {
        "type": row["kind"],
        "id": row["id"],
        "title": row["title"],
        # A bio page is its own preview (the seed's item shape).
        "preview": short if row["kind"] == "bio" else row["long_url"],
        "link": short,
        "date": format_datetime(row["created_at"]),
    }


async def channel_items(request: web.Request, who: Principal, row: Row) -> dict[str, Any]:
    """GET /api/channel/:id: the channel's items, paged, newest first."""
    page = Page.from_query(request.query)
    base = request.app[SETTINGS].public_base_url
    async with request.app[PG_POOL].acquire() as conn:
        total = await conn.fetchval(queries.COUNT_CHANNEL_ITEMS, row["id"], who.user_id)
        rows = await conn.fetch(
            queries.CHANNEL_ITEMS, row["id"], who.user_id, page.limit, page.offset
        )
    return {"data": page.body("items", [_item(r, base) for r in rows], total)}


async def channel_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    await conn.execute(queries.UNASSIGN_CHANNEL_LINKS, row["id"], row["owner_id"])
    await conn.execute(queries.UNASSIGN_CHANNEL_QRS, row["id"], row["owner_id"])
    await conn.execute(queries.UNASSIGN_CHANNEL_BIOS, row["id"], row["owner_id"])
    return Effects()


async def assign_item(request: web.Request) -> web.Response:
    """POST /api/channel/:channelid/assign/:type/:itemid."""
    who = caller(request)
    channel_id = path_id(request, "channelid")
    kind = request.match_info["type"]
    item_id = path_id(request, "itemid")
    if kind not in ITEM_TYPES:
        raise BadRequest("The item type must be links, qr or bio.")
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        if await conn.fetchrow(CHANNELS.sql.lock, channel_id, who.user_id) is None:
            raise CHANNELS.not_found()
        if kind == "links":
            found = await conn.fetchval(
                queries.ASSIGN_LINK_TO_CHANNEL, channel_id, item_id, who.user_id
            )
            if found is None:
                raise NotFound("Link not found.")
        elif kind == "bio":
            found = await conn.fetchval(
                queries.ASSIGN_BIO_TO_CHANNEL, channel_id, item_id, who.user_id
            )
            if found is None:
                raise NotFound("Bio page not found.")
        else:
            found = await conn.fetchval(
                queries.ASSIGN_QR_TO_CHANNEL, channel_id, item_id, who.user_id
            )
            if found is None:
                raise NotFound("QR code not found.")
    return ok(message="Item successfully added to the channel.")


CHANNELS = Resource(
    name="channel",
    table="channels",
    columns=("name", "description", "color", "starred"),
    parse=parse_channel,
    serialize=serialize_channel,
    get_response=channel_items,
    label="channels",
    missing_message="Channel not found.",
    conflict_message="You already have a channel with this name.",
    updated_message="Channel has been updated successfully.",
    deleted_message="Channel has been deleted successfully.",
    add_response=serialize_channel,
    on_delete=channel_deleting,
    extra_routes=(web.post("/api/channel/{channelid}/assign/{type}/{itemid}", assign_item),),
)
