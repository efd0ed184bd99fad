"""Aliases and quotas under concurrent adds (several app replicas, one database)."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg

from tests.links.conftest import StartLinks
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
