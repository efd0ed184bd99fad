"""Consuming ``analytics.lifecycle``: deleted links and users lose their click
data; ``plan.changed`` records the limits analytics enforces (monthly tracked
clicks, days of raw clicks kept) and whether the user is an admin (never limited).

A deletion first records a tombstone (under the owner's lock, so no batch of
clicks for that owner is half-way through), then removes the rollups, then the
raw rows in small transactions. Redelivery repeats harmlessly. A message that
cannot be parsed is dead-lettered to ``analytics.lifecycle.dead``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

import aio_pika
import asyncpg

from services.analytics import queries
from services.analytics.consumer import LOST_CHANNEL_ERRORS, retrying
from services.analytics.db import Conn
from services.analytics.metrics import WorkerMetrics
from shared.amqp import LIFECYCLE_QUEUE
from shared.events import (
    LINK_DELETED,
    PLAN_CHANGED,
    USER_DELETED,
    USER_ROLES,
    Event,
    MalformedEvent,
    decode_event,
    decode_message,
)

log = logging.getLogger("services.analytics.lifecycle")

DELETE_BATCH: Final = 5_000
FOREVER: Final = datetime(9999, 1, 1, tzinfo=UTC)
ROLLUP_CHUNK: Final = 200


def _positive_id(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise MalformedEvent(f"payload.{name} must be a positive integer")
    return value


def limit_value(limits: Mapping[str, Any], name: str) -> int:
    """A numeric plan limit (``1000`` or ``"1000"``); 0 (unlimited) when absent or bad."""
    value = limits.get(name)
    if isinstance(value, bool):
        return 0
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 0:
        return 0
    return min(value, 2**31 - 1)


def validate(event: Event) -> None:
    """Raise :class:`MalformedEvent` unless the payload is what its type needs."""
    payload = event.payload
    if event.type == LINK_DELETED:
        _positive_id(payload, "link_id")
        _positive_id(payload, "owner_id")
    elif event.type == USER_DELETED:
        _positive_id(payload, "user_id")
    elif event.type == PLAN_CHANGED:
        _positive_id(payload, "plan_id")
        if payload.get("user_id") is not None:
            _positive_id(payload, "user_id")
        if payload.get("role") is not None and payload.get("role") not in USER_ROLES:
            raise MalformedEvent("payload.role must be 'admin' or 'user'")
        if not isinstance(payload.get("limits"), dict):
            raise MalformedEvent("payload.limits must be an object")
    else:
        raise MalformedEvent(f"{event.type} does not belong on the lifecycle queue")


async def change_plan(conn: Conn, event: Event) -> None:
    payload = event.payload
    limits = payload["limits"]
    await conn.execute(
        queries.UPSERT_PLAN,
        payload["plan_id"],
        limit_value(limits, "clicks"),
        limit_value(limits, "retention"),
        event.occurred_at,
    )
    if payload.get("user_id") is not None:
        await conn.execute(
            queries.UPSERT_USER_PLAN,
            payload["user_id"],
            payload["plan_id"],
            event.occurred_at,
            payload.get("role"),
        )


async def delete_rollups(conn: Conn, link_ids: list[int]) -> None:
    for start in range(0, len(link_ids), ROLLUP_CHUNK):
        chunk = link_ids[start : start + ROLLUP_CHUNK]
        for statement in queries.DELETE_LINK_ROLLUPS:
            await conn.execute(statement, chunk)


async def _delete_in_batches(pool: asyncpg.Pool, query: str, *args: Any) -> int:
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(query, *args, DELETE_BATCH)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted < DELETE_BATCH:
            return total
        await asyncio.sleep(0)  # let the worker's other tasks in between batches


async def delete_link(pool: asyncpg.Pool, link_id: int, owner_id: int) -> int:
    """Forget a deleted link; returns how many raw clicks went."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.LOCK_OWNERS, [owner_id])
        await conn.execute(queries.MARK_LINK_DELETED, link_id)
        await delete_rollups(conn, [link_id])
    return await _delete_in_batches(pool, queries.DELETE_LINK_CLICKS_BATCH, owner_id, link_id)


async def delete_owner(pool: asyncpg.Pool, owner_id: int) -> int:
    """Forget everything of a deleted user; returns how many raw clicks went."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.LOCK_OWNERS, [owner_id])
        await conn.execute(queries.MARK_OWNER_DELETED, owner_id)
        link_ids = sorted(r[0] for r in await conn.fetch(queries.OWNER_LINK_IDS, owner_id))
        await delete_rollups(conn, link_ids)
        for statement in queries.DELETE_OWNER_ROWS:
            await conn.execute(statement, owner_id)
    return await _delete_in_batches(pool, queries.DELETE_OWNER_CLICKS_BATCH, owner_id, FOREVER)


async def apply(pool: asyncpg.Pool, event: Event, metrics: WorkerMetrics) -> None:
    payload = event.payload
    if event.type == PLAN_CHANGED:
        async with pool.acquire() as conn, conn.transaction():
            await change_plan(conn, event)
    elif event.type == LINK_DELETED:
        removed = await delete_link(pool, payload["link_id"], payload["owner_id"])
        metrics.purged_rows.labels("deleted_link").inc(removed)
    elif event.type == USER_DELETED:
        removed = await delete_owner(pool, payload["user_id"])
        metrics.purged_rows.labels("deleted_user").inc(removed)


class LifecycleConsumer:
    """Handles lifecycle messages one at a time, in the order they arrive."""

    def __init__(self, pool: asyncpg.Pool, metrics: WorkerMetrics) -> None:
        self.pool = pool
        self.metrics = metrics
        self._inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._inbox.put_nowait(message)

    async def run(self) -> None:
        while True:
            await self.handle(await self._inbox.get())

    async def handle(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            events = [decode_event(raw) for raw in decode_message(message.body)]
            for event in events:
                validate(event)
        except MalformedEvent as exc:
            log.warning("dead-lettering lifecycle message %s: %s", message.message_id, exc)
            try:
                await message.reject(requeue=False)
                self.metrics.dead_lettered_messages.labels(LIFECYCLE_QUEUE).inc()
            except LOST_CHANNEL_ERRORS:
                self.metrics.ack_failures.inc()
            return
        for event in events:
            await retrying(
                partial(apply, self.pool, event, self.metrics),
                self.metrics,
                f"applying {event.type}",
            )
        try:
            await message.ack()
        except LOST_CHANNEL_ERRORS:
            self.metrics.ack_failures.inc()
