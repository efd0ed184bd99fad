"""The links API (API.md section 3): list, details, add, update, delete, and the
stats relays (extension)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from services.links import queries
from services.links.access import caller, check_quota, require_feature
from services.links.aliases import ALIAS_RE
from services.links.analytics_client import unavailable
from services.links.destinations import normalize_host
from services.links.effects import Effects, apply_effects, link_event
from services.links.keys import ANALYTICS, TITLES
from services.links.link_fields import LinkFields, check_plan, parse_link_fields
from services.links.link_refs import check_references
from services.links.link_store import (
    host_of,
    insert_link,
    resolve_domain,
    short_url,
    update_link,
)
from services.links.rows import Conn, Row
from services.links.tags import tag_filter
from services.links.targets import rules_as_map
from shared.appkeys import PG_POOL, SETTINGS
from shared.countries import country_name
from shared.dates import format_datetime
from shared.envelope import BadRequest, NotFound, ok
from shared.events import LINK_CREATED, LINK_UPDATED
from shared.identity import Principal
from shared.pagination import Page
from shared.passwords import hash_password_async
from shared.request_body import Body, path_id, read_body
from shared.settings import Settings

MAX_QUERY_LENGTH: Final = 255
STATS_PARAMS: Final = ("from", "to", "interval")


def _link_not_found() -> NotFound:
    return NotFound("Link not found.")


def _list_item(row: Row, base: str, clicks: Mapping[int, int] | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "alias": row["alias"],
        "shorturl": short_url(base, row),
        "longurl": row["long_url"],
        # null, not 0, when analytics cannot say (as url/:id's data).
        "clicks": None if clicks is None else clicks.get(row["id"], 0),
        "title": row["title"],
        "description": row["description"],
        "tags": list(row["tags"]),
        "date": format_datetime(row["created_at"]),
    }


def _details(row: Row, settings: Settings) -> dict[str, Any]:
    deeplink = row["deeplink"]
    return {
        "id": row["id"],
        "shorturl": short_url(settings.public_base_url, row),
        "longurl": row["long_url"],
        "title": row["title"],
        "description": row["description"],
        "location": {
            country_name(code): url
            for code, url in rules_as_map(row["geotarget"], "location").items()
        },
        "device": rules_as_map(row["devicetarget"], "device"),
        "language": rules_as_map(row["languagetarget"], "language"),
        "expiry": format_datetime(row["expires_at"]),
        "date": format_datetime(row["created_at"]),
        # Beyond the published shape: everything else the owner set, so that an
        # update can be checked without guessing.
        "alias": row["alias"],
        # who added it: the owner, or the team member who did in their workspace
        "createdby": row["created_by"],
        "domain": row["domain_id"],
        "status": row["status"],
        "type": row["type"],
        "password": row["password_hash"] is not None,
        "clicklimit": row["click_limit"],
        "expirationredirect": row["expiration_redirect"],
        "metatitle": row["meta_title"],
        "metadescription": row["meta_description"],
        "metaimage": row["meta_image"],
        "deeplink": deeplink,
        "parameters": row["parameters"] or [],
        "pixels": list(row["pixel_ids"] or []),
        "channel": row["channel_id"],
        "campaign": row["campaign_id"],
        "tags": list(row["tags"]),
        "updated": format_datetime(row["updated_at"]),
    }


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _parse_short(value: str, settings: Settings) -> tuple[str | None, str] | None:
    """``short=`` → ``(host or None for any, alias)``; ``None`` when it cannot match a link."""
    text = value.strip()
    host: str | None = None
    if "://" in text:
        rest = text.split("://", 1)[1]
        authority, _, path = rest.partition("/")
        host = normalize_host(authority)
        if host is None:
            return None
        if host == settings.public_host:
            host = "_"
        text = path.split("?", 1)[0].split("#", 1)[0].strip("/")
    if not ALIAS_RE.fullmatch(text):
        return None
    return host, text


def wants_title(fields_columns: Mapping[str, Any], url: str) -> bool:
    return "title" not in fields_columns and url.lower().startswith(("http://", "https://"))


async def list_links(request: web.Request) -> web.Response:
    who = caller(request)
    settings = request.app[SETTINGS]
    query = request.query
    page = Page.from_query(query)
    order = query.get("order") or "date"
    if order not in ("date", "clicks"):
        raise BadRequest("The parameter 'order' must be 'date' or 'clicks'.")
    q = (query.get("q") or "").strip()
    if len(q) > MAX_QUERY_LENGTH or "\x00" in q:
        raise BadRequest(f"The parameter 'q' must be at most {MAX_QUERY_LENGTH} characters.")
    tag = tag_filter(query)
    analytics = request.app[ANALYTICS]
    pool = request.app[PG_POOL]
    clicks: dict[int, int] | None = None
    counted = False

    short = query.get("short")
    if short is not None and short.strip():
        wanted = _parse_short(short, settings)
        rows = (
            []
            if wanted is None
            else await pool.fetch(queries.LIST_LINKS_BY_ALIAS, who.user_id, wanted[1], wanted[0])
        )
        total = len(rows)
        rows = rows[page.offset : page.offset + page.limit]
    else:
        ranked: list[int] = []
        if order == "clicks":
            # Without analytics there is no true order by clicks: a 503 naming it,
            # never a silently different order.
            ranking = await analytics.ranking(who)
            if ranking is None:
                raise unavailable()
            counted = True
            ranked = [link_id for link_id, _ in ranking]
            clicks = dict(ranking)
        pattern = _like_pattern(q) if q else None
        async with pool.acquire() as conn:
            total = await conn.fetchval(queries.COUNT_LIST_LINKS, who.user_id, pattern, tag)
            rows = await conn.fetch(
                queries.LIST_LINKS, who.user_id, pattern, tag, ranked, page.limit, page.offset
            )
    if not counted:
        clicks = await analytics.counts(who, [row["id"] for row in rows])
    items = [_list_item(row, settings.public_base_url, clicks) for row in rows]
    return ok(data=page.body("urls", items, total))


async def get_link(request: web.Request) -> web.Response:
    who = caller(request)
    link_id = path_id(request)
    row = await request.app[PG_POOL].fetchrow(queries.LINK_BY_ID, link_id, who.user_id)
    if row is None:
        raise _link_not_found()
    stats = await request.app[ANALYTICS].link_stats(who, link_id)
    return ok(id=link_id, details=_details(row, request.app[SETTINGS]), data=stats)


@dataclass(slots=True)
class NewLink:
    """A link to add, validated and checked against the plan, not stored yet."""

    fields: LinkFields
    values: dict[str, Any]  # every writable column but domain_id and alias


@dataclass(frozen=True, slots=True)
class CreatedLink:
    id: int
    alias: str
    domain_host: str | None
    domain_scheme: str | None
    long_url: str
    campaign_id: int | None
    wants_title: bool

    @property
    def key_row(self) -> dict[str, Any]:
        """What short_url() and host_of() read."""
        return {
            "alias": self.alias,
            "domain_host": self.domain_host,
            "domain_scheme": self.domain_scheme,
        }


async def stage_created(
    conn: Conn, owner_id: int, settings: Settings, created: Sequence[CreatedLink]
) -> None:
    """``link.created`` for each new link, in the inserting transaction."""
    base = settings.public_base_url
    await Effects(
        events=[
            link_event(
                LINK_CREATED,
                owner_id,
                link.id,
                link.alias,
                short_url(base, link.key_row),
                link.long_url,
            )
            for link in created
        ]
    ).stage(conn)


async def prepare_link(who: Principal, body: Body, settings: Settings) -> NewLink:
    """The parameters of ``url/add`` validated (400) and checked against the plan (403)."""
    fields = parse_link_fields(body, creating=True, default_host=settings.public_host)
    check_plan(who, fields)
    values: dict[str, Any] = {**queries.LINK_DEFAULTS, **fields.columns}
    if fields.password:
        values["password_hash"] = await hash_password_async(fields.password)
    return NewLink(fields, values)


async def announce_created(app: web.Application, created: Sequence[CreatedLink]) -> None:
    """After the commit: the new links' snapshots and rotators, and their titles
    (fetched by the links service; a local import fetches none)."""
    effects = Effects(
        links=[(host_of(link.key_row), link.alias) for link in created],
        campaigns=[link.campaign_id for link in created if link.campaign_id is not None],
    )
    await apply_effects(app, effects)
    titles = app.get(TITLES)
    for link in created:
        if link.wants_title and titles is not None:
            titles.schedule(link.id, link.long_url)


async def add_link(request: web.Request) -> web.Response:
    who = caller(request)
    settings = request.app[SETTINGS]
    new = await prepare_link(who, await read_body(request), settings)
    fields, values = new.fields, new.values
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        domain = await resolve_domain(conn, who.user_id, fields.domain)
        values["domain_id"] = domain["id"] if domain else None
        await check_references(conn, who.user_id, fields.columns)
        await check_quota(conn, who, "links", queries.COUNT_OWNER_LINKS, "links")
        link_id, alias = await insert_link(
            conn, who.user_id, values, fields.alias, created_by=who.actor_id
        )
        link = CreatedLink(
            id=link_id,
            alias=alias,
            domain_host=domain["host"] if domain else None,
            domain_scheme=domain["scheme"] if domain else None,
            long_url=values["long_url"],
            campaign_id=values["campaign_id"],
            wants_title=wants_title(fields.columns, values["long_url"]),
        )
        await stage_created(conn, who.user_id, settings, [link])
    await announce_created(request.app, [link])
    return ok(id=link_id, shorturl=short_url(settings.public_base_url, link.key_row))


async def update_link_handler(request: web.Request) -> web.Response:
    who = caller(request)
    link_id = path_id(request)
    settings = request.app[SETTINGS]
    body = await read_body(request)
    fields = parse_link_fields(body, creating=False, default_host=settings.public_host)
    check_plan(who, fields)
    password_hash = await hash_password_async(fields.password) if fields.password else None
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        # Referenced objects first, then the link: the order in which deleting a
        # pixel, page, channel or campaign locks them, so the two cannot deadlock.
        await check_references(conn, who.user_id, fields.columns)
        current = await conn.fetchrow(queries.LINK_BY_ID_FOR_UPDATE, link_id, who.user_id)
        if current is None:
            raise _link_not_found()
        values = {column: current[column] for column in queries.LINK_WRITABLE}
        values.update(fields.columns)
        if fields.password_sent:
            values["password_hash"] = password_hash
        if fields.alias is not None:
            values["alias"] = fields.alias
        after = {
            "alias": values["alias"],
            "domain_host": current["domain_host"],
            "domain_scheme": current["domain_scheme"],
        }
        if fields.domain is not None:
            domain = await resolve_domain(conn, who.user_id, fields.domain)
            values["domain_id"] = domain["id"] if domain else None
            after["domain_host"] = domain["host"] if domain else None
            after["domain_scheme"] = domain["scheme"] if domain else None
        await update_link(conn, link_id, who.user_id, values)
        await Effects(
            events=[
                link_event(
                    LINK_UPDATED,
                    who.user_id,
                    link_id,
                    values["alias"],
                    short_url(settings.public_base_url, after),
                    values["long_url"],
                )
            ]
        ).stage(conn)
    effects = Effects(
        links=[(host_of(current), current["alias"]), (host_of(after), after["alias"])],
        # The rotators of the campaigns it left or is in (its alias or domain may have moved).
        campaigns=[c for c in (current["campaign_id"], values["campaign_id"]) if c is not None],
    )
    await apply_effects(request.app, effects)
    if (
        "long_url" in fields.columns
        and current["title"] is None
        and wants_title(fields.columns, values["long_url"])
    ):
        request.app[TITLES].schedule(link_id, values["long_url"])
    return ok(id=link_id, shorturl=short_url(settings.public_base_url, after))


async def delete_link(request: web.Request) -> web.Response:
    who = caller(request)
    link_id = path_id(request)
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.DELETE_LINK, link_id, who.user_id)
        if row is None:
            raise _link_not_found()
        # its snapshot removed, its rotator refreshed, link.deleted staged
        effects = Effects().removed_links([row])
        await effects.stage(conn)
    await apply_effects(request.app, effects)
    return ok(message="Link has been deleted successfully.")


async def owned_link(request: web.Request) -> int:
    who = caller(request)
    link_id = path_id(request)
    found = await request.app[PG_POOL].fetchval(queries.LINK_BY_ID, link_id, who.user_id)
    if found is None:
        raise _link_not_found()
    return link_id


def _stats_params(request: web.Request) -> dict[str, str]:
    params = {"owner": str(caller(request).user_id)}
    for name in STATS_PARAMS:
        value = request.query.get(name)
        if value:
            if len(value) > 32:
                raise BadRequest(f"The parameter '{name}' is too long.")
            params[name] = value
    return params


async def link_series(request: web.Request) -> web.Response:
    link_id = await owned_link(request)
    return await request.app[ANALYTICS].relay(
        caller(request), f"/internal/stats/links/{link_id}/series", _stats_params(request)
    )


async def link_export(request: web.Request) -> web.Response:
    require_feature(caller(request), "export", "exporting statistics")
    link_id = await owned_link(request)
    params = _stats_params(request)
    params.pop("interval", None)
    return await request.app[ANALYTICS].relay(
        caller(request), f"/internal/stats/links/{link_id}/export", params
    )


ROUTES: Final = [
    web.get("/api/urls", list_links),
    web.get("/api/url/{id}", get_link),
    web.post("/api/url/add", add_link),
    web.put("/api/url/{id}/update", update_link_handler),
    web.delete("/api/url/{id}/delete", delete_link),
    web.get("/api/url/{id}/stats", link_series),
    web.get("/api/url/{id}/stats/export", link_export),
]
