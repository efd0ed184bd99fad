"""The process pool (``shared.postgres.create_pool``) against the real Postgres:
connections are handed out in the order they were asked for, no turn is lost to
a waiter that gave up or to a bad release, and a connection comes back clean
of any open transaction even without asyncpg's reset query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.postgres import create_pool
from shared.settings import Settings

SIZE = 2


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    made = await create_pool(settings.database_url, min_size=SIZE, max_size=SIZE)
    try:
        yield made
    finally:
        await made.close()


async def test_waiters_get_connections_in_arrival_order(pool: asyncpg.Pool) -> None:
    held = [await pool.acquire() for _ in range(SIZE)]
    served: list[int] = []

    async def user(n: int) -> None:
        async with pool.acquire() as conn:
            served.append(n)
            await conn.fetchval("SELECT 1")

    waiters = []
    for n in range(8):
        waiters.append(asyncio.create_task(user(n)))
        await asyncio.sleep(0.01)  # each one queued before the next arrives
    for conn in held:
        await pool.release(conn)
    await asyncio.gather(*waiters)
    assert served == list(range(8))


async def test_a_waiter_is_not_starved_by_newcomers(pool: asyncpg.Pool) -> None:
    """Requests keep arriving while the pool is busy: whoever waits longest must
    be served next (asyncio.Queue alone lets a newcomer take a connection just
    handed to a waiter, who then queues again at the back)."""
    grants: list[str] = []

    async def request(name: str) -> None:
        async with pool.acquire() as conn:
            grants.append(name)
            await conn.fetchval("SELECT 1")

    arrivals: list[asyncio.Task[None]] = []
    for tick in range(300):
        arrivals += [asyncio.create_task(request(f"{tick}.{i}")) for i in range(3)]
        if tick == 10:
            arrivals.append(asyncio.create_task(request("waiter")))
        await asyncio.sleep(0)
    await asyncio.gather(*arrivals)
    # 33 requests arrived before it: it is served among the first few after them.
    assert grants.index("waiter") <= 33 + 2 * SIZE


async def test_no_turn_is_lost_to_a_waiter_that_gave_up_or_a_bad_release(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    held = [await pool.acquire() for _ in range(SIZE)]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.acquire(), 0.2)
    with pytest.raises(TimeoutError):  # the wait for a turn counts against the timeout
        await pool.acquire(timeout=0.2)
    stranger = await asyncpg.connect(settings.database_url)
    try:
        with pytest.raises(asyncpg.InterfaceError):
            await pool.release(stranger)  # type: ignore[arg-type]  # deliberately wrong
    finally:
        await stranger.close()
    for conn in held:
        await pool.release(conn)
    # Every connection can be taken again at once, and no more than that.
    again = await asyncio.wait_for(asyncio.gather(*(pool.acquire() for _ in range(SIZE))), 5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.acquire(), 0.2)
    for conn in again:
        await pool.release(conn)


async def test_a_connection_comes_back_without_an_open_transaction(pool: asyncpg.Pool) -> None:
    conn = await pool.acquire()
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS pool_probe (x int)")
    await pool.release(conn)  # released mid-transaction: rolled back
    for _ in range(SIZE):
        async with pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT to_regclass('pg_temp.pool_probe')") is None
