"""From the system's events to the deliveries owed: the ``webhooks.events`` queue.

The delivery process consumes its own durable queue, bound to the events
exchange for every source type (``catalog.SOURCE_TYPES``), so the click
pipeline never waits for webhooks: the analytics worker has its own queue.
Each message (a JSON array of events of one type) becomes, in one transaction,
a delivery row per subscribed endpoint (or a waiting row of its next batch),
keyed by endpoint and event id: a redelivered message adds nothing. Only then
is the message acknowledged. Sending is the dispatcher's job
(:mod:`services.webhooks.schedule`), woken when rows were added."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, Final

import aio_pika
import asyncpg

from services.webhooks import queries
from services.webhooks.catalog import (
    BATCHABLE,
    WebhookEvent,
    encode,
    from_source,
)
from services.webhooks.schedule import OUTAGES
from shared import amqp
from shared.events import QUOTA_REACHED, MalformedEvent, decode_event, decode_message
from shared.settings import Settings

log = logging.getLogger("services.webhooks.fanout")

QUEUE: Final = amqp.WEBHOOKS_QUEUE
MAX_BACKOFF: Final = 5.0
TRANSIENT_DB_ERRORS: Final = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.TransactionRollbackError,
)
LOST_CHANNEL_ERRORS: Final = (
    aio_pika.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
    ConnectionError,
    RuntimeError,
)


async def declare_queue(
    channel: aio_pika.abc.AbstractChannel, settings: Settings
) -> aio_pika.abc.AbstractQueue:
    """``webhooks.events`` as ``shared.amqp.QUEUES`` defines it (publishers declare
    it too): bound to every source type; a message that is not a JSON array of
    events is dead-lettered into ``webhooks.events.dead``."""
    return (await amqp.declare_queue(channel, settings, QUEUE)).queue


async def fan_out(pool: asyncpg.Pool, events: Sequence[WebhookEvent]) -> int:
    """Store what each event owes each subscribed endpoint; returns how many
    deliveries are new (batched clicks are counted when their batch is made)."""
    if not events:
        return 0
    owners = sorted({event.owner_id for event in events})
    async with pool.acquire() as conn, conn.transaction():
        subscribers = await conn.fetch(queries.SUBSCRIBERS, owners)
        if not subscribers:
            return 0
        by_owner: dict[int, list[asyncpg.Record]] = defaultdict(list)
        for row in subscribers:
            by_owner[row["owner_id"]].append(row)
        direct = _Columns()
        batched = _Columns()
        for event in events:
            endpoints = [r for r in by_owner.get(event.owner_id, ()) if event.type in r["events"]]
            if not endpoints:
                continue
            if event.type == QUOTA_REACHED and not await conn.fetchval(
                queries.FIRST_QUOTA_NOTICE, event.owner_id, str(event.data.get("month", ""))
            ):
                continue  # announced already this month
            body = event.envelope()
            for endpoint in endpoints:
                if event.type in BATCHABLE and endpoint["batch_seconds"] > 0:
                    batched.add(endpoint["id"], event.id, body, event.occurred_at)
                else:
                    direct.add(
                        endpoint["id"], event.id, event.type, encode(body), event.occurred_at
                    )
        if direct.rows:
            await conn.execute(queries.INSERT_DELIVERIES, *direct.columns())
        if batched.rows:
            await conn.execute(queries.INSERT_BATCHED, *batched.columns())
    return len(direct.rows)


class _Columns:
    """Rows gathered for one ``unnest`` insert, handed over column by column."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        self.rows.append(values)

    def columns(self) -> list[list[Any]]:
        return [list(column) for column in zip(*self.rows, strict=True)]


class EventConsumer:
    """Manual acks: a message is acknowledged once its deliveries are stored."""

    def __init__(self, pool: asyncpg.Pool, on_new: Callable[[], None]) -> None:
        self.pool = pool
        self.on_new = on_new
        self._busy: set[asyncio.Task[object]] = set()

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            await self._handle(message)
        finally:
            if task is not None:
                self._busy.discard(task)

    async def _handle(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            raw_events = decode_message(message.body)
        except MalformedEvent as exc:
            log.warning("dead-lettering a message: %s", exc)
            with suppress(*LOST_CHANNEL_ERRORS):
                await message.reject(requeue=False)
            return
        events: list[WebhookEvent] = []
        for raw in raw_events:
            try:
                found = from_source(decode_event(raw))
            except MalformedEvent as exc:
                log.warning("skipping a malformed event: %s", exc)
                continue
            if found is not None:
                events.append(found)
        backoff = 0.1
        while True:
            try:
                added = await fan_out(self.pool, events)
                OUTAGES.succeeded()
                break
            except TRANSIENT_DB_ERRORS as exc:
                OUTAGES.failed("storing deliveries", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        with suppress(*LOST_CHANNEL_ERRORS):  # lost: redelivered, and adds nothing
            await message.ack()
        if added:
            self.on_new()

    async def drain(self, grace: float) -> None:
        """Wait (a while) for the messages in hand to be stored and acknowledged."""
        if self._busy:
            await asyncio.wait(list(self._busy), timeout=grace)
