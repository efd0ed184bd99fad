"""Redis: one client (connection pool) per process, as a cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web

from shared.appkeys import REDIS, SETTINGS


def create_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, decode_responses=False, health_check_interval=30)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    app[REDIS] = create_redis(app[SETTINGS].redis_url)
    try:
        yield
    finally:
        await app[REDIS].aclose()
