"""A deleted user's QR codes go, with the links behind the dynamic ones."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from shared.settings import Settings
from tests.links.conftest import EventTap, LinksApi, snapshot
from tests.qr.test_api import add_dynamic, alias_of, stored
from tests.support import principals
from tests.support.events import publish_user_deleted
from tests.support.waiting import eventually


async def test_user_deleted_removes_codes_backing_links_and_snapshots(
    qr_api: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    link_deleted_tap: EventTap,
) -> None:
    doomed, bystander = principals.user(), principals.user()
    _, alias, link = await add_dynamic(qr_api, pg_pool, doomed, "https://example.com/a")
    await qr_api.added(doomed, "qr", type="text", data="static")
    kept = await qr_api.added(bystander, "qr", type="link", data="https://example.com/b")
    assert await stored(pg_pool, doomed) == (2, 1)

    await publish_user_deleted(settings, doomed.user_id)

    async def gone() -> bool:  # the consumer runs in the app, fed by the broker
        return await stored(pg_pool, doomed) == (0, 0)

    await eventually(gone, within=10)

    events = await link_deleted_tap.events(1)
    assert [e["payload"] for e in events] == [{"link_id": link["id"], "owner_id": doomed.user_id}]
    assert await snapshot(redis_client, settings, f"link:_:{alias}") is None
    assert await stored(pg_pool, bystander) == (1, 1)
    kept_alias = alias_of(qr_api, kept["link"])
    assert await snapshot(redis_client, settings, f"link:_:{kept_alias}") is not None
