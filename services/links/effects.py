"""What a committed change must tell the rest of the system: snapshots for the
edge (rewritten or removed, with an invalidation message) and events.

Handlers collect :class:`Effects` inside the transaction, stage its events
there (:meth:`Effects.stage`, the transactional outbox of ``shared/outbox.py``:
a committed delete is announced even if the broker is down right now) and call
:func:`apply_effects` after it commits, so an edge that reloads on the
invalidation message reads the committed row, and nothing is announced for a
change that rolled back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

import asyncpg
from aiohttp import web

from services.links import queries
from services.links.rows import Conn, Row
from services.links.snapshot import (
    campaign_key_suffix,
    domain_key_suffix,
    link_key_suffix,
    load_campaign_snapshot,
    load_domain_snapshot,
    load_link_snapshot,
    publish_snapshots,
)
from shared import outbox
from shared.appkeys import PG_POOL, REDIS, SETTINGS
from shared.events import LINK_DELETED, Event, LinkChanged, LinkDeleted, new_event

log = logging.getLogger("services.links.effects")

# Keys published per transaction: each holds an advisory lock until it ends, and
# Postgres's shared lock table is sized for ~64 per connection.
SNAPSHOT_BATCH: Final = 50

# Reads one snapshot on the given connection (inside the key's lock).
SnapshotLoader = Callable[[Conn], Awaitable[Mapping[str, Any] | None]]
SCHEMA: Final = "links"


@dataclass(slots=True)
class Effects:
    # (host or "_", alias): rewritten from the committed state; gone from it → removed.
    links: list[tuple[str, str]] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    # Key suffixes known to be gone (bulk deletes, where reloading each would be waste).
    removed: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    # Campaigns whose rotator snapshot to rewrite: by id (its current slug), and by
    # slug (a slug it had: rewritten from whatever has it now, or removed).
    campaigns: list[int] = field(default_factory=list)
    campaign_slugs: list[str] = field(default_factory=list)

    def merge(self, other: Effects) -> Effects:
        self.links += other.links
        self.domains += other.domains
        self.campaigns += other.campaigns
        self.campaign_slugs += other.campaign_slugs
        self.removed += other.removed
        self.events += other.events
        return self

    async def stage(self, conn: Conn) -> None:
        """Put the events in the outbox, in the caller's transaction."""
        await outbox.stage(conn, SCHEMA, self.events)
        self.events = []

    def refreshed_links(self, rows: Iterable[Row]) -> Effects:
        """Links (rows with ``host`` and ``alias``) whose snapshots to rewrite."""
        self.links += [(row["host"], row["alias"]) for row in rows]
        return self

    def removed_links(self, rows: Iterable[Row], host: str | None = None) -> Effects:
        """Deleted link rows (``id``, ``owner_id``, ``alias``, and ``host`` unless given;
        a ``campaign_id`` column, if selected, refreshes that campaign's rotator)."""
        for row in rows:
            self.removed.append(link_key_suffix(host or row["host"], row["alias"]))
            if "campaign_id" in row and row["campaign_id"] is not None:
                self.campaigns.append(row["campaign_id"])
            self.events.append(
                new_event(LINK_DELETED, LinkDeleted(link_id=row["id"], owner_id=row["owner_id"]))
            )
        return self


def link_event(
    type_: str, owner_id: int, link_id: int, alias: str, shorturl: str, longurl: str
) -> Event:
    """``link.created`` or ``link.updated`` (for webhooks): staged with the change."""
    return new_event(
        type_,
        LinkChanged(
            link_id=link_id, owner_id=owner_id, alias=alias, shorturl=shorturl, longurl=longurl
        ),
    )


async def apply_effects(app: web.Application, effects: Effects) -> None:
    """Publish snapshots and events of a committed change.

    Each snapshot is read from Postgres and written to Redis while holding a
    transaction-scoped advisory lock on its key, so two changes of one link
    publishing at once cannot leave the older state in Redis: whoever writes
    last read after the other's write, hence after both commits.

    Never raises: the change is committed whatever happens here, so a failure
    is logged (the snapshot TTL and the edge's Postgres fallback bound the damage)."""
    settings = app[SETTINGS]
    pool = app[PG_POOL]
    # One entry per key; a key both removed and reloaded is reloaded (it reads
    # what is committed, gone or not).
    loaders: dict[str, SnapshotLoader | None] = dict.fromkeys(effects.removed)
    try:
        for host, alias in effects.links:
            loaders[link_key_suffix(host, alias)] = partial(
                load_link_snapshot, host=host, alias=alias
            )
        for host in effects.domains:
            loaders[domain_key_suffix(host)] = partial(load_domain_snapshot, host=host)
        for slug in await _campaign_slugs(pool, effects):
            loaders[campaign_key_suffix(slug)] = partial(load_campaign_snapshot, slug=slug)
        work = list(loaders.items())
        for start in range(0, len(work), SNAPSHOT_BATCH):
            batch = work[start : start + SNAPSHOT_BATCH]
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(queries.LOCK_SNAPSHOT_KEYS, [suffix for suffix, _ in batch])
                changes = [
                    (suffix, await load(conn) if load is not None else None)
                    for suffix, load in batch
                ]
                await publish_snapshots(app[REDIS], settings, changes)
    except Exception:
        log.exception("could not publish %d snapshot change(s)", len(loaders))
    if effects.events:  # a handler that forgot to stage them: late, but not lost
        log.error("%d event(s) staged after the commit", len(effects.events))
        async with app[PG_POOL].acquire() as conn:
            await effects.stage(conn)
    outbox.kick(app)


async def _campaign_slugs(pool: asyncpg.Pool, effects: Effects) -> list[str]:
    """The rotator keys to rewrite: campaigns by id (their current slug) and slugs they had."""
    slugs = list(effects.campaign_slugs)
    if effects.campaigns:
        ids = list(dict.fromkeys(effects.campaigns))
        slugs += [r["slug"] for r in await pool.fetch(queries.CAMPAIGN_SLUGS, ids)]
    return list(dict.fromkeys(slug for slug in slugs if slug))
