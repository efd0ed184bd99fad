"""``link.expired``: announced by the edge on the first visit it refuses because
a link expired (its date passed, or its click limit is used up).

Nothing else knows when that happens: expiry is decided per visit. The refusal
itself stays synchronous and I/O-free; the announcement runs in a task:
``SET NX`` on ``expired:<link>:<expiry>:<limit>`` (one announcement per expiry
across every edge replica; a new expiry date or limit may expire again), then a
confirmed publish. If the broker cannot take it, the key is removed again so
the next refused visit retries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from contextlib import suppress
from typing import Final

import redis.asyncio as aioredis

from services.links.edge.broker import PUBLISH_TIMEOUT, Broker, BrokerUnavailable
from services.links.edge.entries import LinkEntry
from shared.events import LINK_EXPIRED, LinkExpired, new_event
from shared.settings import Settings

log = logging.getLogger("edge.expiry")

KEY_TTL: Final = 90 * 86_400
REMEMBERED: Final = 10_000  # keys this process knows were announced (skips Redis)


class ExpiryNotices:
    def __init__(self, redis: aioredis.Redis, broker: Broker, settings: Settings) -> None:
        self.redis = redis
        self.broker = broker
        self.prefix = settings.redis_prefix
        self.public_host = settings.public_host
        self._known: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def notice(self, entry: LinkEntry) -> None:
        """A visit of ``entry`` was refused as expired (no await: called on the hot path)."""
        key = f"{self.prefix}expired:{entry.id}:{entry.expires or 0}:{entry.clicklimit or 0}"
        if key in self._known:
            return
        self._known[key] = None
        if len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        task = asyncio.create_task(self._announce(key, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self, key: str, entry: LinkEntry) -> None:
        expired_by_date = entry.expires is not None and entry.expires <= time.time()
        event = new_event(
            LINK_EXPIRED,
            LinkExpired(
                link_id=entry.id,
                owner_id=entry.owner,
                alias=entry.alias,
                host=self.public_host if entry.host == "_" else entry.host,
                reason="expiry" if expired_by_date else "clicklimit",
            ),
        )
        try:
            if not await self.redis.set(key, "1", nx=True, ex=KEY_TTL):
                return  # another replica (or an earlier run) announced it
        except Exception as exc:
            self._known.pop(key, None)
            log.warning("link.expired for link %s not announced yet: %r", entry.id, exc)
            return
        try:
            publisher = self.broker.publisher
            if publisher is None or not self.broker.ready:
                raise BrokerUnavailable("no broker connection")
            await asyncio.wait_for(publisher.publish(event), PUBLISH_TIMEOUT)
        except Exception as exc:
            self._known.pop(key, None)
            with suppress(Exception):
                await self.redis.delete(key)
            log.warning("link.expired for link %s not announced yet: %r", entry.id, exc)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=PUBLISH_TIMEOUT)
