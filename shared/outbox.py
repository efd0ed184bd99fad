"""The transactional outbox: an event is stored in the same transaction as the
change it announces, and a relay publishes it afterwards.

Publishing after the commit could lose the event (the broker is down, the
process dies between the two); publishing before could announce a change that
then rolls back. With the outbox, a committed ``user.deleted`` or
``link.deleted`` always reaches the broker eventually, so a deleted user's data
is removed everywhere even if RabbitMQ was down at the moment of the delete.

Each service keeps its own table (``<schema>.outbox``, created by its
migrations). The relay drains it oldest first with ``FOR UPDATE SKIP LOCKED``,
so replicas never publish the same row at once; a row is deleted only after the
broker confirmed its message. A crash between the confirm and the delete
publishes the row again: every consumer is idempotent by event id or by
nature (deleting twice is harmless)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, Final

import asyncpg
from aiohttp import web
from prometheus_client import Counter

from shared.appkeys import EVENTS, METRICS_REGISTRY, PG_POOL
from shared.events import Event
from shared.postgres import Conn

log = logging.getLogger("shared.outbox")

BATCH: Final = 500
IDLE_POLL: Final = 5.0  # seconds between looks when nobody kicks (other replicas' rows)
MAX_BACKOFF: Final = 30.0

PublishRaw = Callable[[str, Sequence[Mapping[str, Any]]], Awaitable[None]]


def _table(schema: str) -> str:
    if not schema.isidentifier():
        raise ValueError(f"bad schema name {schema!r}")
    return f"{schema}.outbox"


async def stage(conn: Conn, schema: str, events: Iterable[Event]) -> int:
    """Store ``events`` in the caller's transaction; the relay publishes them
    once it commits. Returns how many were staged."""
    rows = [(event.type, event.to_json()) for event in events]
    if rows:
        await conn.executemany(
            f"INSERT INTO {_table(schema)} (type, event) VALUES ($1, $2::jsonb)", rows
        )
    return len(rows)


class OutboxRelay:
    """Publishes a schema's outbox rows in order, in batches, until it is empty."""

    def __init__(
        self, pool: asyncpg.Pool, schema: str, publish: PublishRaw, published: Counter | None
    ) -> None:
        table = _table(schema)
        self.pool = pool
        self.publish = publish
        self.published = published
        self._select = (
            f"SELECT id, type, event FROM {table} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
        )
        self._delete = f"DELETE FROM {table} WHERE id = any($1::bigint[])"
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Something was staged: publish now rather than at the next poll."""
        self._wake.set()

    async def drain(self) -> int:
        """Publish everything staged so far; returns how many events went out.
        Raises when the broker or the database fails (the rows stay)."""
        total = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(self._select, BATCH)
                if not rows:
                    return total
                # Consecutive rows of one type become one message, in order.
                start = 0
                for end in range(1, len(rows) + 1):
                    if end == len(rows) or rows[end]["type"] != rows[start]["type"]:
                        run = rows[start:end]
                        # jsonb comes back decoded (the pool's JSON codec)
                        await self.publish(run[0]["type"], [r["event"] for r in run])
                        start = end
                await conn.execute(self._delete, [r["id"] for r in rows])
            total += len(rows)
            if self.published is not None:
                self.published.inc(len(rows))
            if len(rows) < BATCH:
                return total

    async def run(self) -> None:
        backoff = 1.0
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL)
            self._wake.clear()
            try:
                await self.drain()
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox not published yet (%r); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                self._wake.set()


OUTBOX = web.AppKey("outbox", OutboxRelay)


def kick(app: web.Application) -> None:
    """After a transaction that staged events commits: publish them now."""
    relay = app.get(OUTBOX)
    if relay is not None:
        relay.kick()


@asynccontextmanager
async def transaction(app: web.Application) -> AsyncIterator[Conn]:
    """A pooled connection in a transaction whose staged events are published
    as soon as it commits (and never if it rolls back)."""
    async with app[PG_POOL].acquire() as conn, conn.transaction():
        yield conn
    kick(app)


def outbox_ctx(schema: str) -> Callable[[web.Application], AsyncIterator[None]]:
    """Cleanup context (after Postgres and AMQP): the relay of ``schema``'s outbox
    as a background task, given a last chance to publish on shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        published = Counter(
            "outbox_events_published",
            "Events published from the transactional outbox",
            registry=app[METRICS_REGISTRY],
        )
        relay = OutboxRelay(app[PG_POOL], schema, app[EVENTS].publish_raw, published)
        app[OUTBOX] = relay
        task = asyncio.create_task(relay.run(), name=f"outbox-relay-{schema}")
        relay.kick()  # rows a previous run left behind
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            try:
                await asyncio.wait_for(relay.drain(), 5)
            except Exception as exc:  # they stay staged for the next start
                log.warning("outbox left for the next start: %r", exc)

    return ctx
