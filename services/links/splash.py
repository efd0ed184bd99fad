"""Custom splash pages (API.md section 5), served by the shared CRUD shape.

A link of type ``splash-<id>`` shows its splash page (title, message, image,
a button, a countdown of ``delay`` seconds) before the destination. The link
snapshots carry the page's content, so a change rewrites every snapshot that
shows it; a deleted page's links fall back to the standard splash page."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects
from services.links.page_fields import optional_image, optional_text, optional_url, required_name
from services.links.rows import Conn, Row
from shared.dates import format_datetime
from shared.identity import Principal
from shared.request_body import Body
from shared.settings import Settings

DEFAULT_DELAY: Final = 5
MAX_DELAY: Final = 30
TEXTS: Final = (("title", 200), ("message", 5000), ("button_text", 100))


async def parse_splash(body: Body, ctx: ParseContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if ctx.creating or body.has("name"):
        values["name"] = required_name(body)
    for name, limit in TEXTS:
        if body.has(name):
            values[name] = optional_text(body, name, limit)
    if body.has("image"):
        values["image"] = optional_image(body, "image")
    if body.has("button_url"):
        values["button_url"] = optional_url(body, "button_url")
    if body.has("delay") and body.raw("delay") not in (None, ""):
        values["delay"] = body.integer("delay", min_value=0, max_value=MAX_DELAY)
    elif ctx.creating or body.has("delay"):
        values["delay"] = DEFAULT_DELAY
    return values


def serialize_splash(row: Row, settings: Settings) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "date": format_datetime(row["created_at"])}


def splash_details(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "title": row["title"],
        "message": row["message"],
        "image": row["image"],
        "button_text": row["button_text"],
        "button_url": row["button_url"],
        "delay": row["delay"],
        "date": format_datetime(row["created_at"]),
    }


async def get_splash(request: web.Request, who: Principal, row: Row) -> dict[str, Any]:
    del request, who
    return {"data": splash_details(row)}


def link_type(row: Row) -> str:
    return f"splash-{row['id']}"


async def splash_updated(conn: Conn, before: Row, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.LINKS_OF_TYPE, row["owner_id"], link_type(row))
    return Effects().refreshed_links(links)


async def splash_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.RESET_LINKS_OF_TYPE, row["owner_id"], link_type(row), "splash")
    return Effects().refreshed_links(links)


SPLASH_PAGES = Resource(
    name="splash",
    table="splash_pages",
    columns=("name", "title", "message", "image", "button_text", "button_url", "delay"),
    parse=parse_splash,
    serialize=serialize_splash,
    get_response=get_splash,
    label="custom splash pages",
    feature="splash",
    quota="splash",
    list_path="/api/splash",
    items_key="splash",
    missing_message="Splash page not found.",
    conflict_message="This splash page already exists.",
    updated_message="Splash page has been updated successfully.",
    deleted_message="Splash page has been deleted successfully.",
    on_updated=splash_updated,
    on_delete=splash_deleting,
)
