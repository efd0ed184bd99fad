"""The transactional outbox against the real Postgres and RabbitMQ: what a
committed transaction staged reaches the broker, in order, exactly once per
relay pass; what rolled back never does; a failed publish keeps the rows."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest

from shared import amqp
from shared.events import LINK_DELETED, USER_DELETED, Event, LinkDeleted, UserDeleted, new_event
from shared.outbox import OutboxRelay, stage
from shared.postgres import create_pool
from shared.settings import Settings

DDL = (Path(__file__).parents[2] / "services/accounts/migrations/0003_outbox.sql").read_text()


def user_deleted(user_id: int) -> Event:
    return new_event(USER_DELETED, UserDeleted(user_id=user_id))


def link_deleted(link_id: int) -> Event:
    return new_event(LINK_DELETED, LinkDeleted(link_id=link_id, owner_id=1))


@pytest.fixture
async def schema(settings: Settings) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """A schema of its own holding an outbox made by the services' migration."""
    name = f"outbox_{secrets.token_hex(4)}"
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(f"CREATE SCHEMA {name}")
            await conn.execute(f"SET LOCAL search_path TO {name}")
            await conn.execute(DDL)
        yield name, pool
    finally:
        await pool.execute(f"DROP SCHEMA {name} CASCADE")
        await pool.close()


class Broker:
    """A confirming publisher on this run's events exchange, and a queue bound
    to the event types the tests stage."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __aenter__(self) -> Broker:
        self.connection = await amqp.connect(self.settings)
        self.publisher = await amqp.open_publisher(self.connection, self.settings)
        channel = await self.connection.channel()
        exchange = await amqp.declare_events_exchange(channel, self.settings)
        self.queue = await channel.declare_queue(exclusive=True)
        for key in (USER_DELETED, LINK_DELETED):
            await self.queue.bind(exchange, key)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def publish(self, routing_key: str, events: Sequence[Mapping[str, Any]]) -> None:
        await self.publisher.publish_raw(routing_key, events)

    async def received(self, expected: int, within: float = 5.0) -> list[dict[str, Any]]:
        """Every event on the queue (one message may carry several), waiting for
        ``expected`` of them, then a little longer for any extra."""
        events: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                if len(events) >= expected:
                    await asyncio.sleep(0.2)
                    if await self.queue.get(no_ack=True, fail=False) is None:
                        return events
                await asyncio.sleep(0.05)
                continue
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            events.extend(orjson.loads(message.body))
        return events


@pytest.fixture
async def broker(settings: Settings) -> AsyncIterator[Broker]:
    # AMQP names of its own: the made-up deletions these tests publish must not
    # wait in the services' durable queues for a consumer of this run.
    own = settings.with_overrides(
        amqp_prefix=f"{settings.amqp_prefix}outbox{secrets.token_hex(3)}."
    )
    async with Broker(own) as running:
        yield running


async def commit(pool: asyncpg.Pool, schema: str, events: Sequence[Event]) -> int:
    """Stage ``events`` in a transaction of their own, committed."""
    async with pool.acquire() as conn, conn.transaction():
        return await stage(conn, schema, events)


async def pending(pool: asyncpg.Pool, schema: str) -> int:
    count: int = await pool.fetchval(f"SELECT count(*) FROM {schema}.outbox")
    return count


async def test_committed_events_are_published_in_order_and_removed(
    schema: tuple[str, asyncpg.Pool], broker: Broker
) -> None:
    name, pool = schema
    staged = [user_deleted(1), user_deleted(2), link_deleted(3), user_deleted(4)]
    assert await commit(pool, name, staged) == 4
    relay = OutboxRelay(pool, name, broker.publish, None)
    assert await relay.drain() == 4
    received = await broker.received(4)
    assert [e["id"] for e in received] == [e.id for e in staged]
    assert [e["type"] for e in received] == [USER_DELETED, USER_DELETED, LINK_DELETED, USER_DELETED]
    assert received[2]["payload"] == {"link_id": 3, "owner_id": 1}
    assert await pending(pool, name) == 0
    assert await relay.drain() == 0  # nothing twice


async def test_a_rolled_back_change_announces_nothing(
    schema: tuple[str, asyncpg.Pool], broker: Broker
) -> None:
    name, pool = schema

    async def failing_change() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await stage(conn, name, [user_deleted(7)])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    relay = OutboxRelay(pool, name, broker.publish, None)
    assert await relay.drain() == 0
    assert await broker.received(0, within=0.5) == []


async def test_a_failed_publish_keeps_the_rows_for_the_next_pass(
    schema: tuple[str, asyncpg.Pool], broker: Broker
) -> None:
    name, pool = schema
    staged = [user_deleted(i) for i in range(10)]
    await commit(pool, name, staged)
    calls = 0

    async def broker_down_once(key: str, events: Sequence[Mapping[str, Any]]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise aio_pika.exceptions.AMQPConnectionError("broker unreachable")
        await broker.publish(key, events)

    relay = OutboxRelay(pool, name, broker_down_once, None)
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
        await relay.drain()
    assert await pending(pool, name) == 10
    assert await relay.drain() == 10
    received = await broker.received(10)
    assert [e["id"] for e in received] == [e.id for e in staged]
    assert await pending(pool, name) == 0


async def test_two_relays_draining_at_once_publish_each_event_once(
    schema: tuple[str, asyncpg.Pool], broker: Broker
) -> None:
    name, pool = schema
    staged = [user_deleted(i) for i in range(1200)]
    await commit(pool, name, staged)
    first = OutboxRelay(pool, name, broker.publish, None)
    second = OutboxRelay(pool, name, broker.publish, None)
    done = await asyncio.gather(first.drain(), second.drain())
    assert sum(done) == 1200
    received = await broker.received(1200, within=10)
    assert sorted(e["id"] for e in received) == sorted(e.id for e in staged)


async def test_the_running_relay_publishes_soon_after_a_kick(
    schema: tuple[str, asyncpg.Pool], broker: Broker
) -> None:
    name, pool = schema
    relay = OutboxRelay(pool, name, broker.publish, None)
    task = asyncio.create_task(relay.run())
    try:
        await commit(pool, name, [user_deleted(42)])
        relay.kick()
        received = await broker.received(1, within=2.0)
        assert [e["payload"] for e in received] == [{"user_id": 42}]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
