"""A ``user.deleted`` event removes the user's links, domains and snapshots."""

from __future__ import annotations

import aio_pika
import asyncpg
import orjson
import redis.asyncio as aioredis

from services.links.snapshot import redis_key
from shared import amqp
from shared.events import USER_DELETED
from shared.settings import Settings
from tests.links.conftest import EventTap, LinksApi, snapshot
from tests.support import principals
from tests.support.events import publish_user_deleted
from tests.support.waiting import eventually


async def publish_raw(settings: Settings, routing_key: str, body: bytes) -> None:
    connection = await amqp.connect(settings)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await amqp.declare_events_exchange(channel, settings)
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )
    finally:
        await connection.close()


async def wait_until_gone(
    pg_pool: asyncpg.Pool, owner_id: int, table: str = "links", within: float = 10.0
) -> None:
    """Poll until the consumer (another task, via the broker) has removed the rows."""
    sql = f"SELECT count(*) FROM links.{table} WHERE owner_id = $1"

    async def gone() -> bool:
        return not await pg_pool.fetchval(sql, owner_id)

    await eventually(gone, within=within)


async def test_user_deleted_removes_links_domains_and_snapshots(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    link_deleted_tap: EventTap,
) -> None:
    doomed, bystander = principals.user(), principals.user()
    host = f"doomed-{doomed.user_id}.example.com"
    status, _ = await links.call("POST", "/api/domain/add", doomed, {"domain": f"https://{host}"})
    assert status == 200
    mine = [
        await links.add(doomed, url="https://example.com/1", custom=f"dm1-{doomed.user_id}"),
        await links.add(doomed, url="https://example.com/2", custom="dm2", domain=host),
    ]
    kept = await links.add(bystander, url="https://example.com/3", custom=f"by-{doomed.user_id}")

    await publish_user_deleted(settings, doomed.user_id)
    await wait_until_gone(pg_pool, doomed.user_id)

    events = await link_deleted_tap.events(2)
    assert sorted(e["payload"]["link_id"] for e in events) == sorted(m["id"] for m in mine)
    assert all(e["payload"]["owner_id"] == doomed.user_id for e in events)
    await wait_until_gone(pg_pool, doomed.user_id, "domains")
    assert await snapshot(redis_client, settings, f"link:_:dm1-{doomed.user_id}") is None
    assert await snapshot(redis_client, settings, f"link:{host}:dm2") is None
    gone = await snapshot(redis_client, settings, f"domain:{host}")  # serves nothing now
    assert gone is not None
    assert (gone["owner"], gone["live"]) == (0, False)
    # Someone else's links are untouched.
    assert await snapshot(redis_client, settings, f"link:_:by-{doomed.user_id}") is not None
    _ = await links.fetch(bystander, f"/api/url/{kept['id']}")


async def test_malformed_lifecycle_messages_are_dropped_and_consuming_goes_on(
    links: LinksApi, pg_pool: asyncpg.Pool, settings: Settings
) -> None:
    doomed = principals.user()
    await links.add(doomed, url="https://example.com/x")
    string_id = {
        "id": "0123456789",
        "type": "user.deleted",
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {"user_id": "1"},
    }
    for junk in (b"not json", b'{"id": "x"}', orjson.dumps([string_id])):
        await publish_raw(settings, USER_DELETED, junk)
    await publish_user_deleted(settings, doomed.user_id)
    await wait_until_gone(pg_pool, doomed.user_id)


async def test_a_user_with_many_links_loses_every_snapshot_and_announces_each(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    link_deleted_tap: EventTap,
) -> None:
    """More links than one snapshot batch (each batch is one locked transaction)."""
    doomed = principals.user()
    aliases = [f"many{i}-{doomed.user_id}" for i in range(120)]
    for alias in aliases:
        await links.add(doomed, url="https://example.com/many", custom=alias)
    assert all([await snapshot(redis_client, settings, f"link:_:{a}") for a in aliases])

    await publish_user_deleted(settings, doomed.user_id)
    await wait_until_gone(pg_pool, doomed.user_id)

    async def snapshots_gone() -> bool:
        keys = [redis_key(settings, f"link:_:{a}") for a in aliases]
        return not await redis_client.exists(*keys)

    await eventually(snapshots_gone, within=10.0)
    events = await link_deleted_tap.events(120)
    assert len({e["payload"]["link_id"] for e in events}) == 120
