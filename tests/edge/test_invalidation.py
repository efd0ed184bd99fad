"""A change or delete made through the links service reaches every edge replica
within a second: snapshots are rewritten and announced on the invalidation
channel, and each replica drops its cached copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import redis.asyncio as aioredis

from services.links.edge.app import create_app
from services.links.edge.keys import EDGE
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, Client, Link, MakeLink, Publish, new_alias, within

UA = {"User-Agent": BROWSER}


def location_of(edge: Client, link: Link) -> Callable[[], Awaitable[str | int]]:
    async def probe() -> str | int:
        resp = await edge.get(link.path, allow_redirects=False, headers=UA)
        return resp.headers["Location"] if resp.status == 302 else resp.status

    return probe


async def set_url(pg_pool: asyncpg.Pool, link: Link, url: str) -> None:
    await pg_pool.execute(
        "UPDATE links.links SET long_url = $2, updated_at = now() WHERE id = $1", link.id, url
    )


async def test_update_is_seen_by_every_replica_within_a_second(
    serve_app: ServeApp,
    edge_settings: Settings,
    make_link: MakeLink,
    pg_pool: asyncpg.Pool,
    publish_link: Publish,
) -> None:
    replicas = [await serve_app(create_app, edge_settings) for _ in range(2)]
    link = await make_link("https://example.com/old")
    await publish_link(link)
    for edge in replicas:
        assert await location_of(edge, link)() == "https://example.com/old"

    await set_url(pg_pool, link, "https://example.com/new")
    await publish_link(link)
    for edge in replicas:
        assert await within(1.0, location_of(edge, link), "https://example.com/new")


async def test_delete_is_a_404_within_a_second(
    edge: Client, make_link: MakeLink, pg_pool: asyncpg.Pool, publish_link: Publish
) -> None:
    link = await make_link("https://example.com/doomed")
    assert await location_of(edge, link)() == "https://example.com/doomed"
    await pg_pool.execute("DELETE FROM links.links WHERE id = $1", link.id)
    await publish_link(link)
    assert await within(1.0, location_of(edge, link), 404)


async def test_a_new_link_replaces_a_cached_miss(
    edge: Client, make_link: MakeLink, publish_link: Publish
) -> None:
    alias = new_alias()
    missing = await edge.get(f"/{alias}", allow_redirects=False, headers=UA)
    assert missing.status == 404  # now cached as a miss
    link = await make_link("https://example.com/fresh", alias=alias)
    await publish_link(link)
    assert await within(1.0, location_of(edge, link), "https://example.com/fresh")


async def test_snapshot_written_by_the_edge_never_hides_a_change(
    edge: Client,
    make_link: MakeLink,
    pg_pool: asyncpg.Pool,
    publish_link: Publish,
    redis_client: aioredis.Redis,
    settings: Settings,
) -> None:
    link = await make_link("https://example.com/v1")
    assert await location_of(edge, link)() == "https://example.com/v1"
    key = settings.redis_prefix + link.key_suffix
    assert await redis_client.get(key) is not None  # filled from Postgres by the edge
    await set_url(pg_pool, link, "https://example.com/v2")
    await publish_link(link)
    assert await within(1.0, location_of(edge, link), "https://example.com/v2")
    stored = await redis_client.get(key)
    assert stored is None or b"https://example.com/v2" in stored


async def test_resubscribes_after_losing_the_subscription(
    edge: Client,
    make_link: MakeLink,
    pg_pool: asyncpg.Pool,
    publish_link: Publish,
    redis_client: aioredis.Redis,
    settings: Settings,
) -> None:
    name = f"{settings.redis_prefix}edge-invalidate"

    async def subscriber_ids() -> list[str]:
        clients = await redis_client.client_list(_type="pubsub")
        return sorted(str(c["id"]) for c in clients if c.get("name") == name)

    link = await make_link("https://example.com/before")
    assert await location_of(edge, link)() == "https://example.com/before"
    before = await subscriber_ids()
    assert before
    for client_id in before:
        await redis_client.client_kill_filter(_id=client_id)

    async def resubscribed() -> bool:
        ids = await subscriber_ids()
        return bool(ids) and not set(ids) & set(before)

    assert await within(10.0, resubscribed, True)

    async def caches_cleared() -> bool:  # what the edge does once resubscribed
        return len(edge.app[EDGE].store.link_cache) == 0

    assert await within(10.0, caches_cleared, True)
    await set_url(pg_pool, link, "https://example.com/after")
    await publish_link(link)
    assert await within(1.0, location_of(edge, link), "https://example.com/after")
