"""Tracking pixels (API.md section 9), served by the shared CRUD shape.

A pixel is a provider and an id (``tag``, checked per provider in
``pixel_tags.py``). Links list pixel ids; their snapshots carry the resolved
``{"type", "tag"}`` pairs, so changing or deleting a pixel rewrites the
snapshot of every link that uses it."""

from __future__ import annotations

from typing import Any

from services.links import queries
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects
from services.links.pixel_tags import PIXEL_TYPES, validate_tag
from services.links.rows import Conn, Row
from shared.dates import format_datetime
from shared.envelope import BadRequest
from shared.request_body import Body
from shared.settings import Settings

MAX_NAME_LENGTH = 100


async def parse_pixel(body: Body, ctx: ParseContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ctx.creating or body.has("type"):
        values["type"] = body.choice("type", PIXEL_TYPES, required=True)
    if ctx.creating or body.has("name"):
        values["name"] = body.text("name", required=True, max_length=MAX_NAME_LENGTH)
    pixel_type: str = values.get("type") or (ctx.current or {})["type"]
    if ctx.creating or body.has("tag"):
        if body.raw("tag") is None:
            raise BadRequest("The field 'tag' is required.")
        values["tag"] = validate_tag(pixel_type, body.raw("tag"))
    elif ctx.current is not None and pixel_type != ctx.current["type"]:
        # A new provider needs a tag in its own format.
        values["tag"] = validate_tag(pixel_type, ctx.current["tag"])
    return values


def serialize_pixel(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["type"],
        "name": row["name"],
        "tag": row["tag"],
        "date": format_datetime(row["created_at"]),
    }


async def pixel_updated(conn: Conn, before: Row, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.LINKS_WITH_PIXEL, row["owner_id"], row["id"])
    return Effects().refreshed_links(links)


async def pixel_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.DROP_PIXEL_FROM_LINKS, row["owner_id"], row["id"])
    return Effects().refreshed_links(links)


PIXELS = Resource(
    name="pixel",
    table="pixels",
    columns=("type", "name", "tag"),
    parse=parse_pixel,
    serialize=serialize_pixel,
    label="tracking pixels",
    feature="pixels",
    quota="pixels",
    conflict_message="This pixel already exists.",
    updated_message="Pixel has been updated successfully.",
    deleted_message="Pixel has been deleted successfully.",
    on_updated=pixel_updated,
    on_delete=pixel_deleting,
)
