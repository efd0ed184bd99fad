"""The subscriber to the ``invalidate`` channel: every message names a snapshot
key suffix (``link:_:abc``, ``domain:go.example.com``) that changed, and this
replica drops it from its caches.

If the subscription breaks (Redis restarted, connection killed, no answer to
pings), the subscriber subscribes again and clears the caches, since messages
sent in between are lost."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Final

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.links.edge.snapshots import SnapshotStore
from services.links.snapshot import invalidate_channel
from shared.settings import Settings

log = logging.getLogger("edge.invalidation")

PING_EVERY: Final = 5.0
SILENCE_LIMIT: Final = 15.0  # no message nor pong for this long: the connection is dead
RETRY_MIN, RETRY_MAX = 0.05, 2.0


def subscriber_client(settings: Settings) -> aioredis.Redis:
    """A dedicated client without silent retries (each reconnection must be seen,
    so the caches can be cleared) and with a name, so operators can find it."""
    return aioredis.Redis.from_url(
        settings.redis_url,
        retry=Retry(NoBackoff(), 0),
        client_name=f"{settings.redis_prefix}edge-invalidate",
        socket_connect_timeout=5,
    )


class Invalidator:
    def __init__(self, settings: Settings, store: SnapshotStore) -> None:
        self.channel = invalidate_channel(settings)
        self.client = subscriber_client(settings)
        self.store = store
        self.subscribed = asyncio.Event()
        self.subscriptions = 0  # how many times a subscription was established
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="edge-invalidation")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()

    async def _run(self) -> None:
        delay = RETRY_MIN
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if self.subscriptions:
                    self.store.clear()
                    log.info("resubscribed to invalidations; caches cleared")
                self.subscriptions += 1
                self.subscribed.set()
                delay = RETRY_MIN
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                log.warning("invalidation subscription lost (%s); resubscribing", exc)
            finally:
                with suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _listen(self, pubsub: aioredis.client.PubSub) -> None:
        loop = asyncio.get_running_loop()
        heard = next_ping = loop.time()
        next_ping += PING_EVERY
        while True:
            message = await pubsub.get_message(timeout=1.0)
            now = loop.time()
            if message is not None:
                heard = now
                if message["type"] == "message":
                    data = message["data"]
                    self.store.invalidate(data.decode() if isinstance(data, bytes) else str(data))
            if now >= next_ping:
                await pubsub.ping()
                next_ping = now + PING_EVERY
            if now - heard > SILENCE_LIMIT:
                raise ConnectionError("no answer from Redis on the subscription")
