"""Housekeeping the worker does on a timer: monthly partitions of the raw
clicks created ahead of time (and old ones dropped whole once nothing in them
is kept), finished days folded into the all-time breakdowns, raw clicks purged
past their owner's plan retention, and visitor rows of past days removed.

Deletes go in small batches, each its own short transaction, so no purge
holds locks for long or blocks the stream of clicks."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Final

import asyncpg

from services.analytics import queries
from services.analytics.db import Conn

log = logging.getLogger("services.analytics.maintenance")

PURGE_BATCH: Final = 5_000
# A visitor's row matters only for its day; a few more days allow for late events.
VISITOR_DAYS: Final = 7


def month_start(value: date) -> date:
    return value.replace(day=1)


def add_months(value: date, months: int) -> date:
    index = value.year * 12 + value.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"clicks_{month:%Y_%m}"


async def ensure_partition(conn: Conn, month: date) -> bool:
    """Create the partition of ``month`` if it is missing; True if it was created.

    Rows of that month that fell into the default partition are moved into it
    first (a partition cannot be attached while the default one holds rows of
    its range)."""
    name = partition_name(month)
    if await conn.fetchval(queries.PARTITION_EXISTS, name):
        return False
    low = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    high = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    async with conn.transaction():
        await conn.execute(queries.LOCK_PARTITIONING)
        if await conn.fetchval(queries.PARTITION_EXISTS, name):
            return False
        # The name is built from digits only; DDL cannot take bound parameters.
        await conn.execute(
            f"CREATE TABLE analytics.{name} "
            "(LIKE analytics.clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        await conn.execute(
            "WITH moved AS (DELETE FROM analytics.clicks_default "
            "WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *) "
            f"INSERT INTO analytics.{name} SELECT * FROM moved",
            low,
            high,
        )
        await conn.execute(
            f"ALTER TABLE analytics.clicks ATTACH PARTITION analytics.{name} "
            f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
        )
    log.info("created partition %s", name)
    return True


async def ensure_partitions(
    pool: asyncpg.Pool, today: date, *, back: int = 1, ahead: int = 3
) -> list[str]:
    """The partitions from ``back`` months ago to ``ahead`` months from now."""
    created: list[str] = []
    async with pool.acquire() as conn:
        for offset in range(-back, ahead + 1):
            month = add_months(month_start(today), offset)
            if await ensure_partition(conn, month):
                created.append(partition_name(month))
    return created


async def retire_partitions(pool: asyncpg.Pool, now: datetime) -> list[str]:
    """Drop the monthly partitions, ended over a month ago, whose every row is
    past its owner's plan retention; returns their names.

    Deleting a month of clicks row by row writes (and later vacuums) each row;
    dropping the partition is one catalog change. A partition with any row still
    kept (its owner's plan keeps clicks forever, or is not known yet) stays, and
    :func:`purge_expired` removes its expired rows one batch at a time."""
    dropped: list[str] = []
    horizon = add_months(month_start(now.date()), -1)
    async with pool.acquire() as conn:
        names = [r["name"] for r in await conn.fetch(queries.MONTHLY_PARTITIONS)]
        for name in names:
            if date(int(name[7:11]), int(name[12:14]), 1) >= horizon:
                continue
            # A first look without locks: most old partitions are kept, and are
            # scanned without holding up the stream of clicks.
            if await conn.fetchval(queries.KEPT_ROWS_IN.format(partition=name), now):
                continue
            async with conn.transaction():
                await conn.execute(queries.LOCK_PARTITIONING)
                # The parent first, as inserts take it: no row can arrive now.
                await conn.execute("LOCK TABLE analytics.clicks IN ACCESS EXCLUSIVE MODE")
                if await conn.fetchval(queries.KEPT_ROWS_IN.format(partition=name), now):
                    continue
                await conn.execute(
                    f"ALTER TABLE analytics.clicks DETACH PARTITION analytics.{name}"
                )
                await conn.execute(f"DROP TABLE analytics.{name}")
            log.info("dropped partition %s: every click in it was past its retention", name)
            dropped.append(name)
    return dropped


async def fold_breakdowns(pool: asyncpg.Pool, today: date) -> list[date]:
    """Add each finished day's breakdowns to the all-time ones, once; returns the days."""
    folded: list[date] = []
    while True:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(queries.LOCK_BREAKDOWNS)
            day: date = await conn.fetchval(queries.FOLDED_BEFORE)
            if day >= today:
                return folded
            await conn.execute(queries.FOLD_DAY, day)
            await conn.execute(queries.SET_FOLDED_BEFORE, day + timedelta(days=1))
        folded.append(day)


async def purge_expired(
    pool: asyncpg.Pool, now: datetime, *, batch: int = PURGE_BATCH, pause: float = 0.01
) -> int:
    """Delete raw clicks older than their owner's plan retention; returns how many."""
    async with pool.acquire() as conn:
        owners = await conn.fetch(queries.RETENTION_CUTOFFS, now)
    total = 0
    for owner in owners:
        while True:
            async with pool.acquire() as conn:
                status = await conn.execute(
                    queries.DELETE_OWNER_CLICKS_BATCH, owner["user_id"], owner["cutoff"], batch
                )
            deleted = int(status.rsplit(" ", 1)[-1])
            total += deleted
            if deleted < batch:
                break
            await asyncio.sleep(pause)
    return total


async def purge_visitors(
    pool: asyncpg.Pool, today: date, *, batch: int = PURGE_BATCH, pause: float = 0.01
) -> int:
    cutoff = today - timedelta(days=VISITOR_DAYS)
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(queries.DELETE_OLD_VISITORS, cutoff, batch)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(pause)
