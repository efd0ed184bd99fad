"""One Lua script for many concurrent callers: one round trip per event-loop turn,
loaded into Redis by the first call that finds it missing."""

from __future__ import annotations

import asyncio
import secrets

import redis.asyncio as aioredis

from shared.script_batch import BatchedScript


def never_loaded_script() -> str:
    # a source Redis has never seen (so the first EVALSHA is a NOSCRIPT)
    return f"-- {secrets.token_hex(8)}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"


async def test_a_lone_call_loads_the_missing_script(redis_client: aioredis.Redis) -> None:
    key = f"test:batch:{secrets.token_hex(4)}"
    script = BatchedScript(redis_client, never_loaded_script())
    try:
        assert await script(keys=[key], args=[5]) == 5
        assert await script(keys=[key], args=[2]) == 7
    finally:
        await redis_client.delete(key)


async def test_concurrent_calls_share_a_round_trip_and_each_gets_its_answer(
    redis_client: aioredis.Redis,
) -> None:
    key = f"test:batch:{secrets.token_hex(4)}"
    script = BatchedScript(redis_client, never_loaded_script())
    try:
        answers = await asyncio.gather(*(script(keys=[key], args=[1]) for _ in range(50)))
        assert sorted(answers) == list(range(1, 51))
    finally:
        await redis_client.delete(key)


async def test_an_error_of_one_call_stays_with_that_call(redis_client: aioredis.Redis) -> None:
    key = f"test:batch:{secrets.token_hex(4)}"
    script = BatchedScript(redis_client, never_loaded_script())
    try:
        answers: list[object] = await asyncio.gather(
            script(keys=[key], args=[3]),
            script(keys=[key], args=["not a number"]),
            return_exceptions=True,
        )
        assert answers[0] == 3
        assert isinstance(answers[1], Exception)
        alone = await asyncio.gather(script(keys=[key], args=["nope"]), return_exceptions=True)
        assert isinstance(alone[0], Exception)
    finally:
        await redis_client.delete(key)
