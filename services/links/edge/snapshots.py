"""Where the edge finds links and branded domains: a bounded in-process LRU, then
Redis (the snapshots the links service writes), then Postgres on a Redis miss
(the snapshot is then stored in Redis for the other replicas). Misses are
cached too, in a bounded LRU of their own (unknown hosts for
``DOMAIN_MISS_TTL``, aliases briefly), so an unknown alias or Host costs no
lookup per visit; while Postgres is down a known miss stays a miss.

Invalidation messages drop entries. A load that an invalidation overtakes is
used for the request in flight but not cached, and a snapshot this edge wrote
back to Redis shortly before an invalidation of the same key is deleted (the
row it came from may already have been stale), so a change is never hidden."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Generic, TypeVar

import asyncpg
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.links.edge.entries import CampaignEntry, DomainEntry, LinkEntry, parse_link
from services.links.edge.lru import LRU
from services.links.edge.stats import EdgeStats
from services.links.snapshot import (
    DEFAULT_HOST,
    campaign_key_suffix,
    domain_key_suffix,
    load_campaign_snapshot,
    load_domain_snapshot,
    load_link_snapshot,
)
from shared.dependencies import classify
from shared.settings import Settings

log = logging.getLogger("edge.snapshots")

DOMAIN_CACHE_SIZE: Final = 10_000
CAMPAIGN_CACHE_SIZE: Final = 10_000
# Snapshots this edge copies from Postgres into Redis expire sooner than the links
# service's own: they are a convenience for other replicas, not the source of truth.
FILL_TTL_SECONDS: Final = 3600
# An invalidation this soon after a write-back deletes the written snapshot.
FILL_GUARD_SECONDS: Final = 10.0
REDIS_ERROR_LOG_EVERY: Final = 30.0
# A known miss kept through a Postgres outage is asked about again this often.
STALE_MISS_RETRY: Final = 5.0

E = TypeVar("E", LinkEntry, DomainEntry, CampaignEntry)


class Missing:
    """A cached "no such link/domain", valid until ``until`` (monotonic seconds)."""

    __slots__ = ("until",)

    def __init__(self, until: float) -> None:
        self.until = until


class Table(Generic[E]):
    """One kind of snapshot (links, domains or campaigns): an LRU of what exists,
    a separate bounded LRU of what does not (so junk keys never evict real
    entries), and the loads in flight."""

    def __init__(
        self,
        capacity: int,
        parse: Callable[[Mapping[str, Any]], E | None],
        load: Callable[[asyncpg.Pool, str], Awaitable[dict[str, Any] | None]],
        *,
        miss_capacity: int,
        miss_ttl: float,
    ) -> None:
        self.cache: LRU[str, E] = LRU(capacity)
        self.misses: LRU[str, Missing] = LRU(miss_capacity)
        self.miss_ttl = miss_ttl
        self.parse: Callable[[Mapping[str, Any]], E | None] = parse
        self.load = load
        self.inflight: dict[str, asyncio.Task[E | None]] = {}
        self.overtaken: set[str] = set()


class SnapshotStore:
    def __init__(self, settings: Settings, stats: EdgeStats) -> None:
        self.settings = settings
        self.stats = stats
        self.redis: aioredis.Redis | None = None
        self.pool: asyncpg.Pool | None = None
        misses = settings.negative_cache_size
        self.links: Table[LinkEntry] = Table(
            settings.link_cache_size,
            parse_link,
            _load_link,
            miss_capacity=misses,
            miss_ttl=settings.negative_cache_ttl,
        )
        self.domains: Table[DomainEntry] = Table(
            DOMAIN_CACHE_SIZE,
            DomainEntry,
            _load_domain,
            miss_capacity=misses,
            miss_ttl=max(settings.domain_miss_ttl, settings.negative_cache_ttl),
        )
        self.campaigns: Table[CampaignEntry] = Table(
            CAMPAIGN_CACHE_SIZE,
            CampaignEntry,
            _load_campaign,
            miss_capacity=misses,
            miss_ttl=settings.negative_cache_ttl,
        )
        # The LRU of links, read directly by the redirect handler's fast path.
        self.link_cache = self.links.cache
        self._filled: dict[str, float] = {}
        self._redis_error_logged = 0.0
        self._background: set[asyncio.Task[Any]] = set()

    # -- lookups ---------------------------------------------------------------

    async def link(self, suffix: str) -> LinkEntry | None:
        """The link of ``link:<host>:<alias>``, or ``None``."""
        return await self._get(self.links, suffix)

    async def domain(self, host: str) -> DomainEntry | None:
        """The branded domain of ``host``, or ``None`` (then it is the default domain)."""
        return await self._get(self.domains, domain_key_suffix(host))

    async def campaign(self, slug: str) -> CampaignEntry | None:
        """The campaign whose rotator is ``/r/<slug>``, or ``None``."""
        return await self._get(self.campaigns, campaign_key_suffix(slug))

    async def _get(self, table: Table[E], suffix: str) -> E | None:
        cached = table.cache.get(suffix)
        if cached is not None:
            self.stats.cache_lru += 1
            return cached
        missing = table.misses.get(suffix)
        if missing is not None and missing.until > time.monotonic():
            self.stats.cache_negative += 1
            return None
        task = table.inflight.get(suffix)
        if task is None:
            task = asyncio.ensure_future(self._fetch(table, suffix))
            table.inflight[suffix] = task
            task.add_done_callback(lambda _: table.inflight.pop(suffix, None))
        # Shielded: a visitor who goes away must not cancel the load others wait for.
        return await asyncio.shield(task)

    async def _fetch(self, table: Table[E], suffix: str) -> E | None:
        started = time.monotonic()
        raw = await self._redis_get(suffix)
        snapshot = _decode(raw) if raw is not None else None
        written = False
        if snapshot is not None:
            self.stats.cache_redis += 1
        else:
            self.stats.cache_postgres += 1
            assert self.pool is not None
            try:
                snapshot = await table.load(self.pool, suffix)
            except Exception as exc:
                if suffix not in table.misses or classify(exc) is None:
                    raise
                # Postgres is down and this key was known not to exist: it still
                # does not, as far as anyone here can tell. Asked again shortly.
                self.stats.stale_misses += 1
                table.misses.put(suffix, Missing(time.monotonic() + STALE_MISS_RETRY))
                return None
            if snapshot is not None:
                written = await self._redis_fill(suffix, snapshot)
        entry = table.parse(snapshot) if snapshot is not None else None
        if suffix in table.overtaken:
            table.overtaken.discard(suffix)
            if written:
                self._forget_fill(suffix)
        elif entry is not None:
            table.misses.pop(suffix)
            table.cache.put(suffix, entry)
        else:
            table.misses.put(suffix, Missing(started + table.miss_ttl))
        return entry

    async def _redis_get(self, suffix: str) -> bytes | None:
        assert self.redis is not None
        try:
            value = await self.redis.get(self.settings.redis_prefix + suffix)
        except (RedisError, OSError) as exc:
            self._log_redis_error(exc)
            return None
        return value if isinstance(value, bytes) else None

    async def _redis_fill(self, suffix: str, snapshot: Mapping[str, Any]) -> bool:
        """Store a snapshot read from Postgres, unless the links service wrote one meanwhile."""
        assert self.redis is not None
        try:
            stored = await self.redis.set(
                self.settings.redis_prefix + suffix,
                orjson.dumps(snapshot),
                ex=FILL_TTL_SECONDS,
                nx=True,
            )
        except (RedisError, OSError) as exc:
            self._log_redis_error(exc)
            return False
        if stored:
            self._filled[suffix] = time.monotonic()
            if len(self._filled) > 10_000:
                self._prune_fills()
        return bool(stored)

    def _log_redis_error(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._redis_error_logged > REDIS_ERROR_LOG_EVERY:
            self._redis_error_logged = now
            log.warning("Redis unavailable (%s): reading snapshots from Postgres", exc)

    # -- invalidation ----------------------------------------------------------

    def invalidate(self, suffix: str) -> None:
        """Handle one message of the ``invalidate`` channel."""
        self.stats.invalidations += 1
        table: Table[Any] | None = None
        if suffix.startswith("link:"):
            table = self.links
        elif suffix.startswith("domain:"):
            table = self.domains
        elif suffix.startswith("campaign:"):
            table = self.campaigns
        if table is None:
            return
        table.cache.pop(suffix)
        table.misses.pop(suffix)
        if suffix in table.inflight:
            table.overtaken.add(suffix)
        filled = self._filled.get(suffix)
        if filled is not None and time.monotonic() - filled < FILL_GUARD_SECONDS:
            self._forget_fill(suffix)

    def clear(self) -> None:
        """Forget everything (invalidations may have been missed)."""
        for table in (self.links, self.domains, self.campaigns):
            table.cache.clear()
            table.misses.clear()
            table.overtaken.update(table.inflight)

    def _forget_fill(self, suffix: str) -> None:
        self._filled.pop(suffix, None)
        task = asyncio.ensure_future(self._delete(suffix))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _delete(self, suffix: str) -> None:
        assert self.redis is not None
        try:
            await self.redis.delete(self.settings.redis_prefix + suffix)
        except (RedisError, OSError) as exc:
            self._log_redis_error(exc)

    def _prune_fills(self) -> None:
        horizon = time.monotonic() - FILL_GUARD_SECONDS
        self._filled = {k: t for k, t in self._filled.items() if t >= horizon}


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("ignoring a malformed snapshot")
        return None
    return value if isinstance(value, dict) else None


async def _load_link(pool: asyncpg.Pool, suffix: str) -> dict[str, Any] | None:
    # link:<host>:<alias>; a host may carry a port, an alias never has a colon.
    head, _, alias = suffix.rpartition(":")
    return await load_link_snapshot(pool, head.partition(":")[2], alias)


async def _load_domain(pool: asyncpg.Pool, suffix: str) -> dict[str, Any] | None:
    return await load_domain_snapshot(pool, suffix.partition(":")[2])


async def _load_campaign(pool: asyncpg.Pool, suffix: str) -> dict[str, Any] | None:
    return await load_campaign_snapshot(pool, suffix.partition(":")[2])


__all__ = ["DEFAULT_HOST", "Missing", "SnapshotStore"]
