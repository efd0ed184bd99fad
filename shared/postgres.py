"""PostgreSQL: one asyncpg pool per process, with JSON codecs, as a cleanup context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import asyncpg
import orjson
from aiohttp import web
from asyncpg.pool import PoolConnectionProxy

from shared.appkeys import PG_POOL, SETTINGS

# A connection as the pool hands it out, or a plain one (tests, scripts).
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


class PooledConnection(asyncpg.Connection):
    """A pool connection released without the reset query.

    asyncpg sends ``CLOSE ALL; UNLISTEN *; RESET ALL; pg_advisory_unlock_all()``
    on every release: a round trip per request. Our services keep no session
    state (settings come from ``server_settings``, advisory locks are
    transaction-scoped, nobody LISTENs), and an open transaction is still
    rolled back on release."""

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


class FairPool(asyncpg.Pool):
    """A pool that hands out connections in the order they were asked for.

    asyncpg keeps idle connections in an ``asyncio.Queue``, which lets a newcomer
    take a connection that was just handed to a waiter; the waiter then queues
    again at the back. Under sustained load that starves some requests for
    seconds (seen in the gateway benchmark: a p99 of 1.4 s and timeouts against a
    p50 of 7 ms). A semaphore in front, first come first served (asyncio's is
    fair since 3.11.1), restores arrival order without changing anything else."""

    def __init__(self, *args: Any, max_size: int, **kwargs: Any) -> None:
        super().__init__(*args, max_size=max_size, **kwargs)
        self._turns = asyncio.Semaphore(max_size)

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy[Any]:  # noqa: ASYNC109 - asyncpg's signature
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(self._turns.acquire(), timeout)
        if timeout is not None:  # what is left of it for asyncpg's own wait
            timeout = max(0.0, timeout - (asyncio.get_running_loop().time() - started))
        try:
            proxy: PoolConnectionProxy[Any] = await super()._acquire(timeout)  # type: ignore[misc]
        except BaseException:
            self._turns.release()
            raise
        return proxy

    async def release(
        self,
        connection: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's signature
    ) -> None:
        ours = type(connection) is PoolConnectionProxy and connection._holder._pool is self
        try:
            await super().release(connection, timeout=timeout)
        finally:
            if ours:
                self._turns.release()


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """The process's pool: JSON codecs, no reset round trip, fair hand-out."""
    kwargs.setdefault("connection_class", PooledConnection)
    kwargs.setdefault("max_queries", 50_000)
    kwargs.setdefault("max_inactive_connection_lifetime", 300.0)
    kwargs.setdefault("record_class", asyncpg.Record)
    pool = FairPool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, loop=None, **kwargs
    )
    await pool
    return pool


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the process's pool, closed on shutdown."""
    app[PG_POOL] = await create_pool(app[SETTINGS].database_url)
    try:
        yield
    finally:
        await app[PG_POOL].close()
