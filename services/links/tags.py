"""Tags: names an owner puts on links (``tags: ["spring", "email"]`` on add and
update), to filter the list (``GET /api/urls?tag=``) and the stats, and listed
with their counts (``GET /api/tags``).

A tag lives on the owner's links only (``links.tags``), so one user's tags are
never another's. Tags are compared case-insensitively: they are stored lower-cased."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.access import caller
from shared.appkeys import PG_POOL
from shared.envelope import BadRequest, ok
from shared.pagination import Page

MAX_TAGS: Final = 20
MAX_TAG_LENGTH: Final = 50
TAG_RULE: Final = (
    f"at most {MAX_TAGS} tags of 1 to {MAX_TAG_LENGTH} characters, "
    "without commas or control characters"
)


def normalize_tag(value: Any, name: str = "tags") -> str:
    """One tag as stored; 400 naming the rule otherwise."""
    if not isinstance(value, str):
        raise BadRequest(f"The field '{name}' must hold {TAG_RULE}.")
    tag = " ".join(value.split()).lower()
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag or not tag.isprintable():
        raise BadRequest(f"The field '{name}' must hold {TAG_RULE}.")
    return tag


def parse_tags(value: Any) -> list[str]:
    """The ``tags`` of a link: a list of strings (or one comma-separated string),
    normalised, without duplicates, in the order given."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise BadRequest(f"The field 'tags' must hold {TAG_RULE}.")
    return list(dict.fromkeys(normalize_tag(item) for item in value))


def tag_filter(query: Any) -> str | None:
    """The ``tag`` parameter of a list or stats request, normalised; None when absent."""
    raw = query.get("tag")
    if raw is None or not raw.strip():
        return None
    return normalize_tag(raw, "tag")


async def list_tags(request: web.Request) -> web.Response:
    who = caller(request)
    page = Page.from_query(request.query)
    async with request.app[PG_POOL].acquire() as conn:
        total = await conn.fetchval(queries.COUNT_OWNER_TAGS, who.user_id)
        rows = await conn.fetch(queries.OWNER_TAGS, who.user_id, page.limit, page.offset)
    items = [{"name": row["name"], "links": row["links"]} for row in rows]
    return ok(data=page.body("tags", items, total))


ROUTES: Final = [web.get("/api/tags", list_tags)]
