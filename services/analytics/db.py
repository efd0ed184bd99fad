"""The analytics pool: this service's schema first on the search path, and a
name in ``pg_stat_activity`` so an operator (or a test) can tell the worker's
connections from the stats API's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Final, TypeAlias

import asyncpg
from aiohttp import web
from asyncpg.pool import PoolConnectionProxy

from shared.appkeys import PG_POOL, SETTINGS
from shared.postgres import create_pool
from shared.settings import Settings

SCHEMA: Final = "analytics"

# A connection, whether taken from a pool or opened alone.
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


async def create_analytics_pool(
    settings: Settings, *, application_name: str, max_size: int = 10, by_key: bool = False
) -> asyncpg.Pool:
    server_settings = {
        "search_path": f"{SCHEMA}, public",
        "application_name": application_name[:63],
        "timezone": "UTC",
    }
    if by_key:
        # Every stats query reads one link's (or one owner's) rows by a key
        # prefix. The planner cannot know that a link's recent days are few
        # (link and day are correlated), and would sometimes scan a whole
        # rollup table instead; on these sessions it never does.
        server_settings["enable_seqscan"] = "off"
        server_settings["max_parallel_workers_per_gather"] = "0"
    return await create_pool(
        settings.database_url, min_size=1, max_size=max_size, server_settings=server_settings
    )


def postgres_ctx(
    application_name: Callable[[web.Application], str],
    *,
    max_size: int = 10,
    by_key: bool = False,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Cleanup context: the process's pool, closed on shutdown."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[PG_POOL] = await create_analytics_pool(
            app[SETTINGS],
            application_name=application_name(app),
            max_size=max_size,
            by_key=by_key,
        )
        try:
            yield
        finally:
            await app[PG_POOL].close()

    return ctx
