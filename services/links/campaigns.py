"""Campaigns (API.md section 7), served by the shared CRUD shape.

A campaign groups a user's links. With a ``slug`` it has a rotator,
``<PUBLIC_BASE_URL>/r/<slug>``, whose visits go to each of its links in turn
(slugs are one namespace for everyone); its list page
``<PUBLIC_BASE_URL>/u/<username>/<slug-or-name>-<id>`` shows its links when
``public`` is true. The edge reads the rotator from the ``campaign:<slug>``
snapshot, rewritten on every change to the campaign or its links."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from services.links import queries
from services.links.access import caller, require_feature
from services.links.crud import ParseContext, Resource
from services.links.effects import Effects, apply_effects
from services.links.page_fields import required_name
from services.links.rows import Conn, Row
from shared.appkeys import PG_POOL
from shared.envelope import BadRequest, NotFound, ok
from shared.request_body import Body, path_id
from shared.settings import Settings

SLUG_RE: Final = re.compile(r"[A-Za-z0-9_-]{3,64}", re.ASCII)
_NOT_SLUG: Final = re.compile(r"[^a-z0-9]+")
NAME_TAKEN: Final = "You already have a campaign with that name."
SLUG_TAKEN: Final = "That rotator slug is already taken. Please choose another one."
LABEL: Final = "campaigns"


def _slug(body: Body) -> str | None:
    raw = body.raw("slug")
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not SLUG_RE.fullmatch(raw):
        raise BadRequest("The field 'slug' must be 3 to 64 letters, digits, '-' or '_'.")
    return raw


async def parse_campaign(body: Body, ctx: ParseContext) -> dict[str, Any]:
    # The name is required on update too, as published.
    values: dict[str, Any] = {"name": required_name(body)}
    if ctx.creating:
        values["owner_username"] = ctx.caller.username or f"user{ctx.caller.user_id}"
    if body.has("slug"):
        values["slug"] = _slug(body)
    if body.has("public") and body.raw("public") is not None:
        values["public"] = body.boolean("public")
    elif ctx.creating:
        values["public"] = False
    return values


def list_part(row: Row) -> str:
    """The ``<slug-or-name>`` of the list URL, made URL-safe."""
    text = _NOT_SLUG.sub("-", str(row["slug"] or row["name"]).lower()).strip("-")
    return text[:64].rstrip("-") or "list"


def rotator_url(row: Row, settings: Settings) -> str | bool:
    return f"{settings.public_base_url}/r/{row['slug']}" if row["slug"] else False


def list_url(row: Row, settings: Settings) -> str:
    username = quote(row["owner_username"], safe="")
    return f"{settings.public_base_url}/u/{username}/{list_part(row)}-{row['id']}"


def serialize_campaign(row: Row, settings: Settings) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "public": row["public"],
        "rotator": rotator_url(row, settings),
        "list": list_url(row, settings),
    }


def campaign_response(row: Row, settings: Settings) -> dict[str, Any]:
    """What add and update answer: the list item plus ``domain`` (the name, as published)."""
    item = serialize_campaign(row, settings)
    return {
        "id": item["id"],
        "name": item["name"],
        "domain": row["name"],
        "public": item["public"],
        "rotator": item["rotator"],
        "list": item["list"],
    }


async def campaign_saved(conn: Conn, row: Row, settings: Settings) -> Effects:
    return Effects(campaigns=[row["id"]])


async def campaign_updated(conn: Conn, before: Row, row: Row, settings: Settings) -> Effects:
    moved = before["slug"] is not None and before["slug"] != row["slug"]
    return Effects(campaign_slugs=[before["slug"]] if moved else [])


async def campaign_deleting(conn: Conn, row: Row, settings: Settings) -> Effects:
    links = await conn.fetch(queries.UNASSIGN_CAMPAIGN_LINKS, row["id"], row["owner_id"])
    effects = Effects().refreshed_links(links)
    if row["slug"] is not None:
        effects.campaign_slugs.append(row["slug"])
    return effects


async def assign_link(request: web.Request) -> web.Response:
    """POST /api/campaign/:campaignid/assign/:linkid (a link is in one campaign at a time)."""
    who = caller(request)
    campaign_id = path_id(request, "campaignid")
    link_id = path_id(request, "linkid")
    require_feature(who, "bundle", LABEL)
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        if await conn.fetchrow(CAMPAIGNS.sql.lock, campaign_id, who.user_id) is None:
            raise CAMPAIGNS.not_found()
        row = await conn.fetchrow(
            queries.ASSIGN_LINK_TO_CAMPAIGN, campaign_id, link_id, who.user_id
        )
        if row is None:
            raise NotFound("Link not found.")
    effects = Effects(campaigns=[campaign_id]).refreshed_links([row])
    if row["previous"] is not None and row["previous"] != campaign_id:
        effects.campaigns.append(row["previous"])
    await apply_effects(request.app, effects)
    return ok(message="Link successfully added to the campaign.")


CAMPAIGNS = Resource(
    name="campaign",
    table="campaigns",
    columns=("owner_username", "name", "slug", "public"),
    parse=parse_campaign,
    serialize=serialize_campaign,
    label=LABEL,
    feature="bundle",
    missing_message="Campaign not found.",
    conflict_message=NAME_TAKEN,
    conflict_messages={"campaigns_owner_name": NAME_TAKEN, "campaigns_slug": SLUG_TAKEN},
    add_response=campaign_response,
    update_response=campaign_response,
    deleted_message="Campaign has been deleted successfully.",
    on_saved=campaign_saved,
    on_updated=campaign_updated,
    on_delete=campaign_deleting,
    extra_routes=(web.post("/api/campaign/{campaignid}/assign/{linkid}", assign_link),),
)
