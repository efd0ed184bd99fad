"""CTA overlays (API.md section 6), served by the shared CRUD shape.

A link of type ``overlay-<id>`` frames its destination with the overlay on
top: a message with a button, or a ``contact`` / ``newsletter`` form whose
submissions the edge sends to the accounts service as contacts of the link's
owner (in ``group``, a contact group of the owner that accounts checks). The
link snapshots carry the overlay, so a change rewrites every snapshot that
shows it; a deleted overlay's links become direct links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects
from services.links.keys import ACCOUNTS
from services.links.page_fields import color, optional_text, optional_url, required_name
from services.links.rows import Conn, Row
from shared.dates import format_datetime
from shared.envelope import BadRequest, NotFound
from shared.identity import Principal
from shared.request_body import Body
from shared.settings import Settings

TYPES: Final = ("message", "contact", "newsletter")
WITH_FORM: Final = frozenset({"contact", "newsletter"})
# Where the edge can place the box (services/links/edge/pages.py).
POSITIONS: Final = ("bottom", "top", "top-left", "top-right", "bottom-left", "bottom-right")
DEFAULT_POSITION: Final = "bottom"
COLOR_KEYS: Final = ("bg", "text", "button", "button_text")
TEXTS: Final = (("text", 5000), ("button_text", 100))


def _colors(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadRequest(
            "The field 'colors' must be an object with any of: " + ", ".join(COLOR_KEYS) + "."
        )
    unknown = sorted(set(value) - set(COLOR_KEYS))
    if unknown:
        raise BadRequest(
            f"The field 'colors' has unknown keys ({', '.join(unknown)}); "
            f"use {', '.join(COLOR_KEYS)}."
        )
    return {key: color(value[key], f"colors.{key}") for key in COLOR_KEYS if key in value}


def _group(body: Body) -> int | None:
    if body.raw("group") in (None, "", 0):
        return None
    return body.integer("group", min_value=1, max_value=2**63 - 1)


async def parse_overlay(body: Body, ctx: ParseContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    current = ctx.current or {}
    if ctx.creating or body.has("type"):
        values["type"] = body.choice("type", TYPES) or "message"
    if ctx.creating or body.has("name"):
        values["name"] = required_name(body)
    for name, limit in TEXTS:
        if body.has(name):
            values[name] = optional_text(body, name, limit)
    if body.has("button_url"):
        values["button_url"] = optional_url(body, "button_url")
    if ctx.creating or body.has("position"):
        values["position"] = body.choice("position", POSITIONS) or DEFAULT_POSITION
    if ctx.creating or body.has("colors"):
        values["colors"] = _colors(body.raw("colors"))
    kind = values.get("type") or current["type"]
    if body.has("group"):
        values["group_id"] = _group(body)
        if values["group_id"] is not None and kind not in WITH_FORM:
            raise BadRequest("A contact group applies only to contact and newsletter overlays.")
        if values["group_id"] is not None and values["group_id"] != current.get("group_id"):
            # The group is the accounts service's: another user's is a 404 as a missing one.
            accounts = ctx.request.app[ACCOUNTS]
            if not await accounts.owns_group(ctx.caller.user_id, values["group_id"]):
                raise NotFound("Contact group not found.")
    elif kind not in WITH_FORM:
        values["group_id"] = None  # a message overlay keeps no group
    return values


def serialize_overlay(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["type"],
        "name": row["name"],
        "date": format_datetime(row["created_at"]),
    }


async def get_overlay(request: web.Request, who: Principal, row: Row) -> dict[str, Any]:
    del request, who
    return {
        "data": {
            "id": row["id"],
            "type": row["type"],
            "name": row["name"],
            "text": row["text"],
            "button_text": row["button_text"],
            "button_url": row["button_url"],
            "position": row["position"],
            "colors": row["colors"],
            "group": row["group_id"],
            "date": format_datetime(row["created_at"]),
        }
    }


def link_type(row: Row) -> str:
    return f"overlay-{row['id']}"


async def overlay_updated(conn: Conn, before: Row, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.LINKS_OF_TYPE, row["owner_id"], link_type(row))
    return Effects().refreshed_links(links)


async def overlay_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.RESET_LINKS_OF_TYPE, row["owner_id"], link_type(row), "direct")
    return Effects().refreshed_links(links)


OVERLAYS = Resource(
    name="overlay",
    table="overlays",
    columns=(
        "type",
        "name",
        "text",
        "button_text",
        "button_url",
        "position",
        "colors",
        "group_id",
    ),
    parse=parse_overlay,
    serialize=serialize_overlay,
    get_response=get_overlay,
    label="CTA overlays",
    feature="overlay",
    quota="overlay",
    list_path="/api/overlay",
    items_key="cta",
    missing_message="CTA overlay not found.",
    conflict_message="This CTA overlay already exists.",
    updated_message="CTA overlay has been updated successfully.",
    deleted_message="CTA overlay has been deleted successfully.",
    on_updated=overlay_updated,
    on_delete=overlay_deleting,
)
