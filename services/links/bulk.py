"""``POST /api/urls/bulk``: up to 1,000 links in one request, each with the
parameters (and the validation, plan checks and messages) of ``url/add``; one
answer with a result per item. Items are independent: a bad one is reported
and the others are created.

Two fields exist only here, for imports from other shorteners: ``source`` (a
key naming where the link came from, e.g. ``bitly:bit.ly/3xYz``; an item whose
source this user already imported is answered with the existing link, marked
``existing``, and nothing is created) and ``created`` (the original creation
date).

The whole batch is one transaction holding the owner's quota lock, so the
plan's ``links`` quota is exact even against concurrent adds: with room for
10 more links, 15 valid items create 10 and the other 5 get the quota message.
The rows go in with one statement per round (``INSERT_LINK_BATCH``); an item
whose alias turned out taken is refused (a custom alias) or drawn again (a
generated one) in the next round."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from aiohttp import web
from redis.exceptions import RedisError

from services.links import queries
from services.links.access import caller, quota_refusal, quota_room
from services.links.aliases import generate_alias
from services.links.effects import Effects, apply_effects
from services.links.keys import TITLES
from services.links.link_fields import DomainRef
from services.links.link_handlers import (
    CreatedLink,
    NewLink,
    prepare_link,
    stage_created,
    wants_title,
)
from services.links.link_refs import check_references
from services.links.link_store import (
    ALIAS_TAKEN,
    GENERATE_ATTEMPTS,
    host_of,
    resolve_domain,
    short_url,
)
from services.links.rows import Conn
from services.links.snapshot import invalidate_channel, link_key_suffix, redis_key
from shared.appkeys import PG_POOL, REDIS, SETTINGS
from shared.envelope import ApiError, BadRequest, ok
from shared.identity import Principal
from shared.request_body import Body, read_body
from shared.settings import Settings

log = logging.getLogger("services.links.bulk")

MAX_ITEMS: Final = 1_000
INVALIDATION_BATCH: Final = 500
MAX_SOURCE_LENGTH: Final = 255
NOT_AN_OBJECT: Final = "Each item must be a JSON object with the parameters of url/add."
_REFERENCE_COLUMNS: Final = ("pixel_ids", "type", "channel_id", "campaign_id")


@dataclass(slots=True)
class Item:
    """One item of a batch and what became of it."""

    index: int
    body: Body | None = None
    new: NewLink | None = None
    source: str | None = None
    created_at: datetime | None = None
    domain: Any = None  # the resolved domain row, or None for the default domain
    result: dict[str, Any] | None = None  # set once the item is settled

    def fail(self, message: str) -> None:
        self.result = {"index": self.index, "error": 1, "message": message}

    @property
    def pending(self) -> bool:
        return self.result is None


@dataclass(slots=True)
class BulkOutcome:
    results: list[dict[str, Any]]
    created: list[CreatedLink] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        existing = sum(1 for r in self.results if r.get("existing"))
        failed = sum(1 for r in self.results if r["error"])
        return {"created": len(self.created), "existing": existing, "failed": failed}


def _extras(body: Body) -> tuple[str | None, datetime | None]:
    """The import-only fields ``source`` and ``created``."""
    source = body.text("source", max_length=MAX_SOURCE_LENGTH) or None
    return source, body.when("created")


def _item(index: int, raw: Any) -> Item:
    """An item with its import-only fields read (the rest is validated by _prepare)."""
    item = Item(index)
    if not isinstance(raw, dict):
        item.fail(NOT_AN_OBJECT)
        return item
    item.body = Body(raw)
    try:
        item.source, item.created_at = _extras(item.body)
    except ApiError as exc:
        item.fail(exc.message)
    return item


async def _prepare(who: Principal, settings: Settings, item: Item) -> None:
    assert item.body is not None
    try:
        item.new = await prepare_link(who, item.body, settings)
    except ApiError as exc:
        item.fail(exc.message)


def _settle(item: Item, settings: Settings, link_id: int, alias: str, existing: bool) -> None:
    row = {
        "alias": alias,
        "domain_host": item.domain["host"] if item.domain else None,
        "domain_scheme": item.domain["scheme"] if item.domain else None,
    }
    result = {
        "index": item.index,
        "error": 0,
        "id": link_id,
        "shorturl": short_url(settings.public_base_url, row),
    }
    if existing:
        result["existing"] = True
    item.result = result


async def _already_imported(
    conn: Conn, who: Principal, settings: Settings, items: Sequence[Item]
) -> None:
    """Settle the items whose source this owner has imported before."""
    wanted = {item.source: item for item in items if item.pending and item.source}
    if not wanted:
        return
    for row in await conn.fetch(queries.IMPORTED_LINKS, who.user_id, list(wanted)):
        item = wanted[row["import_source"]]
        item.domain = (
            {"host": row["domain_host"], "scheme": row["domain_scheme"]}
            if row["domain_host"]
            else None
        )
        _settle(item, settings, row["id"], row["alias"], existing=True)


async def _check_targets(conn: Conn, who: Principal, items: Sequence[Item]) -> None:
    """Each item's domain and referenced objects must be the owner's (404 messages)."""
    domains: dict[DomainRef | None, Any] = {}
    for item in items:
        if not item.pending or item.new is None:
            continue
        fields = item.new.fields
        try:
            if fields.domain not in domains:
                domains[fields.domain] = await resolve_domain(conn, who.user_id, fields.domain)
            item.domain = domains[fields.domain]
            if any(fields.columns.get(column) for column in _REFERENCE_COLUMNS):
                await check_references(conn, who.user_id, fields.columns)
        except ApiError as exc:
            item.fail(exc.message)
            continue
        item.new.values["domain_id"] = item.domain["id"] if item.domain else None


def _row(item: Item, alias: str) -> dict[str, Any]:
    assert item.new is not None
    return {
        **item.new.values,
        "alias": alias,
        "import_source": item.source,
        "created_at": item.created_at,
    }


async def _insert(
    conn: Conn, who: Principal, settings: Settings, items: list[Item], room: int | None
) -> list[CreatedLink]:
    """Insert the pending items in rounds while the quota has room."""
    created: list[CreatedLink] = []
    waiting = [item for item in items if item.pending]
    attempts: dict[int, int] = {}
    while waiting and (room is None or room > 0):
        # One row per (domain, alias) and per source in a round: a second one
        # waits for the next round, where the conflict is then told apart.
        batch: list[tuple[Item, str]] = []
        keys: set[tuple[int, str]] = set()
        sources: set[str] = set()
        later: list[Item] = []
        for item in waiting:
            assert item.new is not None
            if room is not None and len(batch) >= room:
                later.append(item)
                continue
            alias = item.new.fields.alias or generate_alias()
            key = (item.new.values["domain_id"] or 0, alias)
            if key in keys or (item.source is not None and item.source in sources):
                later.append(item)
                continue
            keys.add(key)
            if item.source is not None:
                sources.add(item.source)
            batch.append((item, alias))
        rows = await conn.fetch(
            queries.INSERT_LINK_BATCH,
            who.user_id,
            [_row(item, alias) for item, alias in batch],
            who.actor_id,  # a team member adding in the owner's workspace
        )
        stored = {(row["domain_key"], row["alias"]): row["id"] for row in rows}
        missed: list[Item] = []
        for item, alias in batch:
            assert item.new is not None
            link_id = stored.get((item.new.values["domain_id"] or 0, alias))
            if link_id is None:
                missed.append(item)
                continue
            _settle(item, settings, link_id, alias, existing=False)
            created.append(
                CreatedLink(
                    id=link_id,
                    alias=alias,
                    domain_host=item.domain["host"] if item.domain else None,
                    domain_scheme=item.domain["scheme"] if item.domain else None,
                    long_url=item.new.values["long_url"],
                    campaign_id=item.new.values["campaign_id"],
                    wants_title=wants_title(item.new.fields.columns, item.new.values["long_url"]),
                )
            )
        if room is not None:
            room -= len(stored)
        # A row skipped by ON CONFLICT: its source imported meanwhile, its custom
        # alias taken, or its generated alias drawn by someone else (drawn again).
        await _already_imported(conn, who, settings, missed)
        for item in missed:
            assert item.new is not None
            if not item.pending:
                continue
            attempts[item.index] = attempts.get(item.index, 0) + 1
            if item.new.fields.alias:
                item.fail(ALIAS_TAKEN)
            elif attempts[item.index] >= GENERATE_ATTEMPTS:
                item.fail("Could not find a free alias. Please retry.")
        waiting = [item for item in later + missed if item.pending]
    for item in waiting:
        item.fail(quota_refusal(who, "links", "links").message)
    await stage_created(conn, who.user_id, settings, created)
    return created


async def create_links(
    conn: Conn, who: Principal, settings: Settings, raw_items: Sequence[Any]
) -> BulkOutcome:
    """Create what can be created of ``raw_items`` inside the caller's transaction.

    The caller announces ``created`` (snapshots, titles) after it commits."""
    items = [_item(i, raw) for i, raw in enumerate(raw_items)]
    # Already imported first: a re-run validates nothing it will not create.
    await _already_imported(conn, who, settings, items)
    for item in items:
        if item.pending:
            await _prepare(who, settings, item)
    await _check_targets(conn, who, items)
    room = await quota_room(conn, who, "links", queries.COUNT_OWNER_LINKS)
    created = await _insert(conn, who, settings, items, room)
    results = [item.result for item in items if item.result is not None]
    assert len(results) == len(items)
    return BulkOutcome(results, created)


async def announce_bulk(app: web.Application, created: Sequence[CreatedLink]) -> None:
    """After the commit: what the new links change for the edges, and their titles.

    A new link has no snapshot yet, so instead of reading 1,000 snapshots back
    (what a single add does) each key is only invalidated: an edge that cached
    the alias as missing forgets it, and the first visit loads it from Postgres.
    Deleting a cache key needs no lock: whatever it races with, the next read
    finds the committed row. (One DEL per 500 keys: an import sends 100,000.)
    The rotators of the campaigns they joined are rewritten as usual."""
    suffixes = [link_key_suffix(host_of(link.key_row), link.alias) for link in created]
    settings = app[SETTINGS]
    channel = invalidate_channel(settings)
    for start in range(0, len(suffixes), INVALIDATION_BATCH):
        batch = suffixes[start : start + INVALIDATION_BATCH]
        try:
            async with app[REDIS].pipeline(transaction=False) as pipe:
                pipe.delete(*(redis_key(settings, suffix) for suffix in batch))
                for suffix in batch:
                    pipe.publish(channel, suffix)
                await pipe.execute()
        except RedisError:
            log.exception("could not invalidate %d new link key(s)", len(batch))
    campaigns = [link.campaign_id for link in created if link.campaign_id is not None]
    if campaigns:
        await apply_effects(app, Effects(campaigns=campaigns))
    titles = app.get(TITLES)
    for link in created:
        if link.wants_title and titles is not None:
            titles.schedule(link.id, link.long_url)


def bulk_items(body: Body) -> list[Any]:
    items = body.array("urls", required=True, max_items=MAX_ITEMS) or []
    if not items:
        raise BadRequest("The field 'urls' must hold 1 to 1000 links.")
    return items


async def add_links(request: web.Request) -> web.Response:
    who = caller(request)
    settings = request.app[SETTINGS]
    raw_items = bulk_items(await read_body(request, allow_empty=False))
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        outcome = await create_links(conn, who, settings, raw_items)
    await announce_bulk(request.app, outcome.created)
    return ok(**outcome.counts(), results=outcome.results)


ROUTES: Final = [web.post("/api/urls/bulk", add_links)]
