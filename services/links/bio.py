"""Bio pages (link-in-bio), served by the shared CRUD shape:

    GET    /api/bio                list, paged        {"data": {..., "bios": [...]}}
    GET    /api/bio/:id            one, with its blocks
    POST   /api/bio/add            {"id", "shorturl"}
    PUT    /api/bio/:id/update     only what is sent changes
    DELETE /api/bio/:id/delete
    GET    /api/bio/:id/stats      views, unique views, clicks per block, countries,
                                   referrers, browsers, operating systems, devices

A page is served by the edge at the alias of a hidden backing link
(``links.bio_id``), as a dynamic QR code is: links and pages share one alias
namespace per domain (the links' unique index decides), the page's content rides
in that link's snapshot (written, invalidated and removed exactly as a link's),
and a page view is a click of that link. A click on a counted block
(``/<alias>/b/<id>``) is a click event of the same link carrying the block's id.
Plan: the ``bio`` feature, its count limiting how many pages one may have (a
page does not take one of the plan's ``links``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
import orjson
from aiohttp import web

from services.links import queries
from services.links.access import caller
from services.links.aliases import generate_alias, validate_custom_alias
from services.links.bio_fields import (
    image_png,
    parse_blocks,
    parse_seo,
    parse_theme,
)
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects
from services.links.keys import ANALYTICS, SAFE_FETCHER
from services.links.link_fields import _parse_domain as parse_domain
from services.links.link_store import ALIAS_TAKEN, insert_link, resolve_domain, short_url
from services.links.page_fields import cleared, optional_text, required_name
from services.links.rows import Conn, Row
from shared.appkeys import PG_POOL, SETTINGS
from shared.dates import format_datetime
from shared.envelope import Conflict, ok
from shared.identity import Principal
from shared.request_body import Body, path_id
from shared.settings import Settings

BIO_TYPE: Final = "bio"


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def parse_bio(body: Body, ctx: ParseContext) -> dict[str, Any]:
    current = ctx.current
    app = ctx.request.app
    values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
    if current is None or body.has("name"):
        values["name"] = required_name(body, 200)
    if body.has("alias") and body.raw("alias") not in (None, ""):
        values["alias"] = validate_custom_alias(body.raw("alias"), "alias")
    elif current is None:
        values["alias"] = generate_alias()
    if body.has("domain") or "alias" in values:
        async with app[PG_POOL].acquire() as conn:
            if body.has("domain"):
                ref = parse_domain(body.raw("domain"), ctx.settings.public_host)
                domain = await resolve_domain(conn, ctx.caller.user_id, ref)
            elif current is not None and current["domain_id"] is not None:
                domain = await conn.fetchrow(queries.BIO_DOMAIN, current["domain_id"])
            else:
                domain = None
        values["domain_id"] = domain["id"] if domain is not None else None
        alias = values.get("alias") or (current["alias"] if current is not None else "")
        values["shorturl"] = short_url(
            ctx.settings.public_base_url,
            {
                "alias": alias,
                "domain_host": domain["host"] if domain is not None else None,
                "domain_scheme": domain["scheme"] if domain is not None else None,
            },
        )
    if body.has("description"):
        values["description"] = optional_text(body, "description", 1000)
    if cleared(body, "avatar"):
        values["avatar"] = None
    elif body.has("avatar"):
        values["avatar"] = await image_png(
            body.raw("avatar"), "avatar", ctx.settings, app[SAFE_FETCHER]
        )
    if current is None or body.has("theme"):
        stored = _json(current["theme"]) if current is not None else None
        values["theme"] = parse_theme(body.raw("theme"), stored)
    if current is None or body.has("seo"):
        values["seo"] = parse_seo(body.raw("seo"))
    if current is None or body.has("blocks"):
        stored_blocks = _json(current["blocks"]) if current is not None else []
        last = current["last_block_id"] if current is not None else 0
        raw = body.raw("blocks")
        values["blocks"], values["last_block_id"] = await parse_blocks(
            [] if raw is None else raw, stored_blocks, last, ctx.settings, app[SAFE_FETCHER]
        )
    return values


# --- answers ---------------------------------------------------------------------


def serialize_bio(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "alias": row["alias"],
        "shorturl": row["shorturl"],
        "date": format_datetime(row["created_at"]),
    }


def _public_block(block: dict[str, Any]) -> dict[str, Any]:
    """A stored block as its owner sees it (an image's bytes stay out of the answer)."""
    if block.get("type") == "image":
        return {"id": block["id"], "type": "image", "alt": block.get("alt", ""), "image": True}
    return block


async def present_bios(
    request: web.Request, who: Principal, rows: Sequence[Row]
) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    counts = await request.app[ANALYTICS].counts(
        who, [r["link_id"] for r in rows if r["link_id"] is not None]
    )
    items = []
    for row in rows:
        item = serialize_bio(row, settings)
        # null, not 0, when analytics cannot say
        item["views"] = None if counts is None else counts.get(row["link_id"], 0)
        items.append(item)
    return items


async def bio_details(request: web.Request, who: Principal, row: Row) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return {
        "data": {
            **serialize_bio(row, settings),
            "domain": row["domain_id"],
            "description": row["description"],
            "avatar": row["avatar"] is not None,
            "theme": _json(row["theme"]),
            "seo": _json(row["seo"]),
            "blocks": [_public_block(b) for b in _json(row["blocks"])],
            "channel": row["channel_id"],
            "updated": format_datetime(row["updated_at"]),
        }
    }


# --- the backing link ------------------------------------------------------------


async def bio_saved(conn: Conn, row: Row, settings: Settings) -> Effects:
    """Create the page's backing link, or move it with the page's alias and domain."""
    url = row["shorturl"]
    if row["link_id"] is None:
        values = {
            **queries.LINK_DEFAULTS,
            "long_url": url,
            "type": BIO_TYPE,
            "title": row["name"],
            "domain_id": row["domain_id"],
        }
        link_id, _ = await insert_link(conn, row["owner_id"], values, row["alias"])
        await conn.execute(queries.SET_LINK_BIO, link_id, row["id"])
        await conn.execute(queries.SET_BIO_LINK, row["id"], link_id)
        domain = None
        if row["domain_id"] is not None:
            domain = await conn.fetchrow(queries.BIO_DOMAIN, row["domain_id"])
        return Effects(links=[(domain["host"] if domain is not None else "_", row["alias"])])
    try:
        moved = await conn.fetchrow(
            queries.MOVE_BIO_LINK,
            row["link_id"],
            row["id"],
            row["alias"],
            row["domain_id"],
            row["name"],
            url,
        )
    except asyncpg.UniqueViolationError as exc:  # the alias is a link's (or a page's)
        raise Conflict(ALIAS_TAKEN) from exc
    effects = Effects()
    if moved is None:
        return effects
    effects.links.append((moved["host"], moved["alias"]))
    if (moved["old_host"], moved["old_alias"]) != (moved["host"], moved["alias"]):
        effects.links.append((moved["old_host"], moved["old_alias"]))  # reloads as gone
    return effects


async def bio_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    """The backing link goes with the page: its snapshot is removed, its clicks with it."""
    if row["link_id"] is None:
        return Effects()
    links = await conn.fetch(queries.DELETE_BIO_LINK, row["link_id"], row["id"])
    return Effects().removed_links(links)


# --- stats -----------------------------------------------------------------------


async def bio_stats(request: web.Request) -> web.Response:
    """GET /api/bio/:id/stats: the page's views (clicks of its link) and its blocks' clicks."""
    who = caller(request)
    page_id = path_id(request)
    row = await request.app[PG_POOL].fetchrow(BIO_PAGES.sql.get, page_id, who.user_id)
    if row is None or row["link_id"] is None:
        raise BIO_PAGES.not_found()
    analytics = request.app[ANALYTICS]
    data = await analytics.post_json(
        who,
        f"/internal/stats/bio/{row['link_id']}",
        {"owner": str(who.user_id)},
        {"blocks": [b["id"] for b in _json(row["blocks"])]},
    )
    return ok(data=data)


def _added(row: Row, settings: Settings) -> dict[str, Any]:
    return {"id": row["id"], "shorturl": row["shorturl"]}


BIO_PAGES = Resource(
    name="bio",
    table="bio_pages",
    columns=(
        "name",
        "alias",
        "domain_id",
        "shorturl",
        "description",
        "avatar",
        "theme",
        "seo",
        "blocks",
        "last_block_id",
        "updated_at",
    ),
    read_columns=("link_id", "channel_id", "created_at"),
    unlisted=("avatar", "blocks", "theme", "seo"),
    parse=parse_bio,
    serialize=serialize_bio,
    present=present_bios,
    get_response=bio_details,
    label="bio pages",
    feature="bio",
    quota="bio",
    list_path="/api/bio",
    items_key="bios",
    missing_message="Bio page not found.",
    conflict_message=ALIAS_TAKEN,
    add_response=_added,
    updated_message="Bio page has been updated successfully.",
    deleted_message="Bio page has been deleted successfully.",
    on_saved=bio_saved,
    on_delete=bio_deleting,
    extra_routes=(web.get("/api/bio/{id}/stats", bio_stats),),
)
