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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

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
from shared.events import LINK_DELETED, Event, LinkDeleted, new_event

log = logging.getLogger("services.links.effects")

REDIS_BATCH: Final = 1000
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


async def apply_effects(app: web.Application, effects: Effects) -> None:
    """Publish snapshots and events of a committed change.

    Never raises: the change is committed whatever happens here, so a failure
    is logged (the snapshot TTL and the edge's Postgres fallback bound the damage)."""
    settings = app[SETTINGS]
    changes: list[tuple[str, Mapping[str, Any] | None]] = []
    try:
        if effects.links or effects.domains:
            pool = app[PG_POOL]
            for host, alias in dict.fromkeys(effects.links):
                snapshot = await load_link_snapshot(pool, host, alias)
                changes.append((link_key_suffix(host, alias), snapshot))
            for host in dict.fromkeys(effects.domains):
                changes.append((domain_key_suffix(host), await load_domain_snapshot(pool, host)))
        if effects.campaigns or effects.campaign_slugs:
            changes += await _campaign_changes(app, effects)
        changes += [(suffix, None) for suffix in dict.fromkeys(effects.removed)]
        for start in range(0, len(changes), REDIS_BATCH):
            await publish_snapshots(app[REDIS], settings, changes[start : start + REDIS_BATCH])
    except Exception:
        log.exception("could not publish %d snapshot change(s)", len(changes))
    if effects.events:  # a handler that forgot to stage them: late, but not lost
        log.error("%d event(s) staged after the commit", len(effects.events))
        async with app[PG_POOL].acquire() as conn:
            await effects.stage(conn)
    outbox.kick(app)


async def _campaign_changes(
    app: web.Application, effects: Effects
) -> list[tuple[str, Mapping[str, Any] | None]]:
    pool = app[PG_POOL]
    slugs = list(effects.campaign_slugs)
    if effects.campaigns:
        ids = list(dict.fromkeys(effects.campaigns))
        slugs += [r["slug"] for r in await pool.fetch(queries.CAMPAIGN_SLUGS, ids)]
    return [
        (campaign_key_suffix(slug), await load_campaign_snapshot(pool, slug))
        for slug in dict.fromkeys(slugs)
    ]
