"""The raw click table is partitioned by month, with partitions made ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
from aiohttp import web

from services.analytics.maintenance import add_months, ensure_partition, partition_name
from shared.dates import utcnow
from shared.events import EventPublisher
from tests.analytics.helpers import click_event, new_link_id, publish, wait_for_clicks
from tests.support.principals import user

PARTITIONS = """
SELECT c.relname FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
WHERE n.nspname = 'analytics' AND p.relname = 'clicks'
"""


async def partition_of(pool: asyncpg.Pool, link_id: int) -> list[str]:
    rows = await pool.fetch(
        "SELECT tableoid::regclass::text AS part FROM analytics.clicks WHERE link_id = $1", link_id
    )
    return [r["part"] for r in rows]


async def test_monthly_partitions_are_created_ahead(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    names = {r["relname"] for r in await pg_pool.fetch(PARTITIONS)}
    this_month = utcnow().date().replace(day=1)
    for offset in range(-1, 4):
        assert partition_name(add_months(this_month, offset)) in names
    assert "clicks_default" in names

    link = new_link_id()
    await publish(publisher, [click_event(link, user().user_id)])
    await wait_for_clicks(pg_pool, link, 1)
    assert await partition_of(pg_pool, link) == [f"analytics.{partition_name(this_month)}"]


async def test_a_partition_made_later_takes_over_its_rows_from_the_default_one(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    event = click_event(link, owner.user_id, at=datetime(2099, 5, 17, 8, tzinfo=UTC))
    await publish(publisher, [event])
    await wait_for_clicks(pg_pool, link, 1)
    assert await partition_of(pg_pool, link) == ["analytics.clicks_default"]

    async with pg_pool.acquire() as conn:
        assert await ensure_partition(conn, date(2099, 5, 1)) is True
        assert await ensure_partition(conn, date(2099, 5, 1)) is False
    assert await partition_of(pg_pool, link) == ["analytics.clicks_2099_05"]

    # The event id still counts once across the move.
    sentinel = new_link_id()
    await publish(publisher, [event, click_event(sentinel, owner.user_id)])
    await wait_for_clicks(pg_pool, sentinel, 1)
    assert await partition_of(pg_pool, link) == ["analytics.clicks_2099_05"]
    clicks = await pg_pool.fetchval(
        "SELECT clicks FROM analytics.link_totals WHERE link_id = $1", link
    )
    assert clicks == 1
