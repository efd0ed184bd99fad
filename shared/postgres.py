"""PostgreSQL: one asyncpg pool per process, with JSON codecs, as a cleanup context."""

from __future__ import annotations

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


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    kwargs.setdefault("connection_class", PooledConnection)
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs
    )
    assert pool is not None
    return pool


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the process's pool, closed on shutdown."""
    app[PG_POOL] = await create_pool(app[SETTINGS].database_url)
    try:
        yield
    finally:
        await app[PG_POOL].close()
