"""Each signed request is accepted once: its nonce is remembered in Redis until
its signature expires (``SET nonce NX EX``), across every replica of a service.

It is one more Redis command per internal request; the calls made during one
turn of the event loop go out as one pipeline (:class:`BatchedScript`), so under
load a service pays one round trip per batch, not per request (measured in
``tests/bench/bench_identity.py``)."""

from __future__ import annotations

import math
import time
from typing import Final

import redis.asyncio as aioredis

from shared.identity import Signed
from shared.script_batch import BatchedScript
from shared.settings import Settings

# 1 the first time a nonce is seen, 0 after (a replay).
_FIRST_USE: Final = "return redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) and 1 or 0"


class SeenNonces:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.script = BatchedScript(redis, _FIRST_USE)
        self.settings = settings

    async def first_use(self, signed: Signed, *, now: float | None = None) -> bool:
        """True the first time this nonce is presented; False for a replay.
        Raises what Redis raises when it cannot say (the caller answers 503)."""
        remaining = signed.valid_until - (now if now is not None else time.time())
        ttl = max(1, math.ceil(remaining) + 1)
        key = self.settings.redis_key("nonce", signed.nonce)
        return bool(await self.script(keys=[key], args=[ttl]))
