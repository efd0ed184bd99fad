"""Redis: one client (connection pool) per process, as a cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from shared.appkeys import REDIS, SETTINGS


# A pooled connection Redis closed (a restart, an idle timeout) fails on its next
# command: that command is sent again on a fresh connection, twice at most, within
# a few tens of milliseconds. While Redis is really down the caller soon gets the
# error (and answers 503, shared/dependencies.py).
def create_redis(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 2),
    )


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    app[REDIS] = create_redis(app[SETTINGS].redis_url)
    try:
        yield
    finally:
        await app[REDIS].aclose()
