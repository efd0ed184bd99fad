"""The raw click table is partitioned by month, with partitions made ahead."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime

import asyncpg
from aiohttp import web

from services.analytics import queries
from services.analytics.maintenance import (
    add_months,
    ensure_partition,
    partition_name,
    retire_partitions,
)
from shared.dates import utcnow
from shared.events import EventPublisher
from tests.analytics.helpers import click_event, new_link_id, publish, wait_for_clicks
from tests.support.principals import user
from tests.support.waiting import eventually

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


async def insert_click(pool: asyncpg.Pool, owner_id: int, at: datetime) -> None:
    await pool.execute(
        "INSERT INTO analytics.clicks (event_id, occurred_at, link_id, owner_id, source,"
        " visitor_hash, country, city, browser, os, device, referrer_host, language, is_bot)"
        " VALUES ($1, $2, $3, $4, 'link', '\\x00', '', '', '', '', '', '', '', false)",
        secrets.token_hex(16),
        at,
        new_link_id(),
        owner_id,
    )


async def on_plan(pool: asyncpg.Pool, owner_id: int, retention: int, role: str = "user") -> None:
    plan_id = 10**9 + retention
    await pool.execute(
        "INSERT INTO analytics.plans (plan_id, retention, changed_at) VALUES ($1, $2, now())"
        " ON CONFLICT (plan_id) DO NOTHING",
        plan_id,
        retention,
    )
    await pool.execute(
        "INSERT INTO analytics.user_plans (user_id, plan_id, changed_at, role)"
        " VALUES ($1, $2, now(), $3)",
        owner_id,
        plan_id,
        role,
    )


async def test_a_month_whose_clicks_are_all_past_retention_is_dropped_whole(
    pg_pool: asyncpg.Pool,
) -> None:
    # Months of 2001, "now" mid-2001: no other test has partitions that old.
    now = datetime(2001, 6, 15, tzinfo=UTC)
    months = [date(2001, m, 1) for m in (1, 2, 3, 4, 5)]
    async with pg_pool.acquire() as conn:
        for month in months:
            assert await ensure_partition(conn, month)
    week, forever, unknown, admin = user().user_id, user().user_id, user().user_id, user().user_id
    await on_plan(pg_pool, week, 7)
    await on_plan(pg_pool, forever, 0)
    await on_plan(pg_pool, admin, 7, role="admin")
    # January: only clicks of a 7-day plan, long expired → the partition goes.
    await insert_click(pg_pool, week, datetime(2001, 1, 10, tzinfo=UTC))
    # February: one click of a plan that keeps clicks forever → it stays.
    await insert_click(pg_pool, week, datetime(2001, 2, 10, tzinfo=UTC))
    await insert_click(pg_pool, forever, datetime(2001, 2, 11, tzinfo=UTC))
    # March: a click of an owner whose plan is not known yet → it stays.
    await insert_click(pg_pool, unknown, datetime(2001, 3, 10, tzinfo=UTC))
    # April: a click of an admin on the 7-day plan (admins keep every click) → it stays.
    await insert_click(pg_pool, week, datetime(2001, 4, 9, tzinfo=UTC))
    await insert_click(pg_pool, admin, datetime(2001, 4, 10, tzinfo=UTC))
    # May (under a month before now): empty, but too recent to drop.

    assert await retire_partitions(pg_pool, now) == ["clicks_2001_01"]
    names = {r["relname"] for r in await pg_pool.fetch(PARTITIONS)}
    assert "clicks_2001_01" not in names
    assert {"clicks_2001_02", "clicks_2001_03", "clicks_2001_04", "clicks_2001_05"} <= names
    assert not await pg_pool.fetchval("SELECT to_regclass('analytics.clicks_2001_01')")
    kept = await pg_pool.fetchval(
        "SELECT count(*) FROM analytics.clicks WHERE occurred_at < '2001-05-01'"
    )
    assert kept == 5
    assert await retire_partitions(pg_pool, now) == []  # nothing more to drop


async def test_two_workers_starting_together_create_a_partition_once(
    pg_pool: asyncpg.Pool,
) -> None:
    """Two workers starting at once (``WORKERS=2 make run``) both make the same
    month's partition: the one that waited for the other's lock must see the
    table the other committed, not fail on it."""
    month = date(2091, 1 + secrets.randbelow(12), 1)
    name = partition_name(month)
    low = datetime(month.year, month.month, 1, tzinfo=UTC)
    high_month = add_months(month, 1)
    high = datetime(high_month.year, high_month.month, 1, tzinfo=UTC)
    async with pg_pool.acquire() as first, pg_pool.acquire() as second:
        try:
            async with first.transaction():
                await first.execute(queries.LOCK_PARTITIONING)
                waiting = asyncio.create_task(ensure_partition(second, month))

                async def second_waits_for_the_lock() -> bool:
                    return bool(
                        await pg_pool.fetchval(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND NOT granted AND pid = $1",
                            second.get_server_pid(),
                        )
                    )

                await eventually(second_waits_for_the_lock, within=10)
                await first.execute(
                    f"CREATE TABLE analytics.{name} "
                    "(LIKE analytics.clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
                )
                await first.execute(
                    f"ALTER TABLE analytics.clicks ATTACH PARTITION analytics.{name} "
                    f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
                )
            assert await waiting is False  # it was there: nothing to create
        finally:
            await pg_pool.execute(f"DROP TABLE IF EXISTS analytics.{name}")
