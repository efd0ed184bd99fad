"""A deleted user's QR codes go, with the links behind the dynamic ones."""

from __future__ import annotations

import asyncio

import asyncpg
import redis.asyncio as aioredis

from shared import amqp
from shared.events import USER_DELETED, UserDeleted, new_event
from shared.settings import Settings
from tests.links.conftest import EventTap, LinksApi, snapshot
from tests.qr.test_api import add_qr, alias_of, backing_link, stored
from tests.support import principals


async def publish_user_deleted(settings: Settings, user_id: int) -> None:
    connection = await amqp.connect(settings)
    try:
        publisher = await amqp.open_publisher(connection, settings)
        await publisher.publish(new_event(USER_DELETED, UserDeleted(user_id=user_id)))
    finally:
        await connection.close()


async def test_user_deleted_removes_codes_backing_links_and_snapshots(
    qr_api: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    link_deleted_events: EventTap,
) -> None:
    doomed, bystander = principals.user(), principals.user()
    dynamic = await add_qr(qr_api, doomed, type="link", data="https://example.com/a")
    await add_qr(qr_api, doomed, type="text", data="static")
    kept = await add_qr(qr_api, bystander, type="link", data="https://example.com/b")
    link = await backing_link(pg_pool, dynamic["id"])
    assert link is not None
    assert await stored(pg_pool, doomed) == (2, 1)

    await publish_user_deleted(settings, doomed.user_id)
    async with asyncio.timeout(10):  # the consumer runs in the app, fed by the broker
        while True:
            if await stored(pg_pool, doomed) == (0, 0):
                break
            await asyncio.sleep(0.05)

    events = await link_deleted_events.events(1)
    assert [e["payload"] for e in events] == [{"link_id": link["id"], "owner_id": doomed.user_id}]
    alias = alias_of(qr_api, dynamic["link"])
    assert await snapshot(redis_client, settings, f"link:_:{alias}") is None
    assert await stored(pg_pool, bystander) == (1, 1)
    kept_alias = alias_of(qr_api, kept["link"])
    assert await snapshot(redis_client, settings, f"link:_:{kept_alias}") is not None
