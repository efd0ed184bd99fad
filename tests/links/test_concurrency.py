"""Aliases and quotas under concurrent adds (several app replicas, one database)."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import redis.asyncio as aioredis

from shared.settings import Settings
from tests.links.conftest import StartLinks, snapshot
from tests.support import principals


async def test_same_custom_alias_many_times_at_once_has_one_winner(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    replicas = [await start_links(), await start_links()]
    users = [principals.user() for _ in range(20)]
    alias = f"race-{users[0].user_id}"
    results = await asyncio.gather(
        *(
            replicas[i % 2].call(
                "POST", "/api/url/add", who, {"url": "https://example.com/race", "custom": alias}
            )
            for i, who in enumerate(users)
        )
    )
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: 19}
    for status, body in results:
        if status == 409:
            assert body == {
                "error": 1,
                "message": "That alias is taken. Please choose another one.",
            }
    rows = await pg_pool.fetch("SELECT owner_id FROM links.links WHERE alias = $1", alias)
    assert len(rows) == 1


async def test_many_generated_aliases_at_once_are_all_distinct(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    replicas = [await start_links(), await start_links()]
    alice = principals.user()
    results = await asyncio.gather(
        *(
            replicas[i % 2].call("POST", "/api/url/add", alice, {"url": f"https://example.com/{i}"})
            for i in range(60)
        )
    )
    assert all(status == 200 for status, _ in results)
    aliases = [body["shorturl"].rsplit("/", 1)[1] for _, body in results]
    assert len(set(aliases)) == 60
    stored = await pg_pool.fetchval(
        "SELECT count(DISTINCT alias) FROM links.links WHERE owner_id = $1", alice.user_id
    )
    assert stored == 60


async def test_links_quota_holds_under_concurrent_adds(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    replicas = [await start_links(), await start_links()]
    starter = principals.user(principals.STARTER_LIMITS)  # 10 links
    results = await asyncio.gather(
        *(
            replicas[i % 2].call("POST", "/api/url/add", starter, {"url": f"https://e.com/{i}"})
            for i in range(25)
        )
    )
    assert Counter(status for status, _ in results) == {200: 10, 403: 15}
    count = await pg_pool.fetchval(
        "SELECT count(*) FROM links.links WHERE owner_id = $1", starter.user_id
    )
    assert count == 10


async def test_the_last_committed_change_is_the_snapshot_left_in_redis(
    start_links: StartLinks,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
) -> None:
    """Concurrent updates and a delete of one link, through two replicas: whatever
    order they commit in, Redis ends with the committed state (or nothing)."""
    replicas = [await start_links(), await start_links()]
    alice = principals.user()
    for round_ in range(15):
        added = await replicas[0].add(alice, url="https://example.com/start")
        alias = added["shorturl"].rsplit("/", 1)[1]
        link = added["id"]
        calls = [
            replicas[i % 2].call(
                "PUT", f"/api/url/{link}/update", alice, {"url": f"https://example.com/{i}"}
            )
            for i in range(6)
        ]
        if round_ % 3 == 0:
            calls.insert(3, replicas[1].call("DELETE", f"/api/url/{link}/delete", alice))
        await asyncio.gather(*calls)
        stored = await pg_pool.fetchval("SELECT long_url FROM links.links WHERE id = $1", link)
        snap = await snapshot(redis_client, settings, f"link:_:{alias}")
        if stored is None:
            assert snap is None, (round_, snap)
        else:
            assert snap is not None, (round_, stored)
            assert snap["url"] == stored, (round_, stored, snap)
