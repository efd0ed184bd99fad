"""What the replay-proof identity check costs a service per request: verifying
the signature (HMAC over method, path and query, and the body's hash) and the
nonce's first-use check in Redis (``SET NX EX``, batched per event-loop turn),
against the real Redis, in one process.

Targets: a lone request's nonce check adds at most 0.5 ms (a bare PING, one
round trip, is printed beside it); with 64 requests in flight the batched
checks run at least as fast as 64 tasks each sending their own PING, in the
same run (batching pays for the script and the write); verifying a signature
costs under 100 µs of CPU."""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time

import redis.asyncio as aioredis

from shared import identity
from shared.identity import Principal
from shared.nonces import SeenNonces
from tests.bench.harness import bench_settings, verdict

PRINCIPAL = Principal(
    user_id=42,
    role="user",
    username="bench",
    plan_id=1,
    limits={
        "links": 0,
        "clicks": 0,
        "retention": 0,
        **{f: {"enabled": "1", "count": "0"} for f in ("splash", "overlay", "pixels", "domain")},
        **{f: {"enabled": "1"} for f in ("alias", "geo", "device", "language", "export", "api")},
    },
    request_id="bench-request-id",
)
TARGET = "/internal/stats/links/12345?owner=42&from=2026-01-01&to=2026-02-01"
BODY = b'{"owner": 42, "link_ids": [' + b", ".join(b"%d" % i for i in range(40)) + b"]}"
SIGNATURES = 20_000
SEQUENTIAL = 3_000
CONCURRENT = 40_000
IN_FLIGHT = 64


def _verify_cost(secret: str) -> tuple[float, float]:
    """µs per sign and per verify, over ``SIGNATURES`` distinct headers."""
    started = time.perf_counter()
    headers = [identity.sign(PRINCIPAL, secret, "POST", TARGET, BODY) for _ in range(SIGNATURES)]
    signed = time.perf_counter() - started
    started = time.perf_counter()
    for header in headers:
        assert identity.verify_signed(header, secret, "POST", TARGET, BODY) is not None
    verified = time.perf_counter() - started
    return signed / SIGNATURES * 1e6, verified / SIGNATURES * 1e6


async def _sequential(
    redis: aioredis.Redis, nonces: SeenNonces, secret: str
) -> tuple[float, float]:
    """Median µs of one bare PING and of one nonce check, one at a time."""
    pings, checks = [], []
    for _ in range(SEQUENTIAL):
        started = time.perf_counter()
        await redis.ping()
        pings.append(time.perf_counter() - started)
    found = identity.verify_signed(
        identity.sign(PRINCIPAL, secret, "GET", "/x"), secret, "GET", "/x"
    )
    assert found is not None
    for _ in range(SEQUENTIAL):
        one = identity.Signed(found.principal, secrets.token_urlsafe(12), found.valid_until)
        started = time.perf_counter()
        assert await nonces.first_use(one)
        checks.append(time.perf_counter() - started)
    return statistics.median(pings) * 1e6, statistics.median(checks) * 1e6


async def _concurrent(
    redis: aioredis.Redis, nonces: SeenNonces, valid_until: float
) -> tuple[float, float, int]:
    """PINGs/s and nonce checks/s with ``IN_FLIGHT`` requests at a time; replays caught."""

    async def pinger(count: int) -> None:
        for _ in range(count):
            await redis.ping()

    started = time.perf_counter()
    await asyncio.gather(*(pinger(CONCURRENT // IN_FLIGHT) for _ in range(IN_FLIGHT)))
    pings = (CONCURRENT // IN_FLIGHT) * IN_FLIGHT / (time.perf_counter() - started)

    replays = 0

    async def checker(share: list[str]) -> None:
        nonlocal replays
        for nonce in share:
            signed = identity.Signed(PRINCIPAL, nonce, valid_until)
            assert await nonces.first_use(signed)
            if await nonces.first_use(signed):  # the same again: must be refused
                raise AssertionError("a replay was accepted")
            replays += 1

    fresh = [secrets.token_urlsafe(12) for _ in range(CONCURRENT // 2)]
    started = time.perf_counter()
    await asyncio.gather(*(checker(fresh[i::IN_FLIGHT]) for i in range(IN_FLIGHT)))
    checks = 2 * len(fresh) / (time.perf_counter() - started)
    return pings, checks, replays


async def main() -> None:
    async with bench_settings() as settings:
        secret = settings.internal_secret
        sign_us, verify_us = _verify_cost(secret)
        redis = aioredis.Redis.from_url(settings.redis_url)
        try:
            nonces = SeenNonces(redis, settings)
            ping_us, check_us = await _sequential(redis, nonces, secret)
            pings, rate, replays = await _concurrent(
                redis, nonces, time.time() + identity.MAX_AGE_SECONDS
            )
        finally:
            await redis.aclose()
    print(f"signature over method, path+query and a {len(BODY)}-byte body, realistic principal")
    print(f"  sign:   {sign_us:6.1f} µs per header (gateway side)")
    print(f"  verify: {verify_us:6.1f} µs per header (service side)")
    print("one at a time (median):")
    print(f"  bare PING {ping_us:6.1f} µs; nonce check {check_us:6.1f} µs")
    print(f"{IN_FLIGHT} in flight:")
    print(f"  PINGs, one round trip each:   {pings:9,.0f}/s")
    print(
        f"  nonce checks, batched:        {rate:9,.0f}/s (every one of {replays:,} replays refused)"
    )
    print(verdict("verify CPU", verify_us <= 100, f"{verify_us:.1f} µs (≤ 100)"))
    print(
        verdict(
            "lone request's nonce check",
            check_us <= 500,
            f"{check_us:.0f} µs (≤ 500; {check_us / ping_us:.1f}x a PING)",
        )
    )
    print(
        verdict(
            "batched nonce checks vs PINGs, 64 in flight",
            rate >= pings,
            f"{rate / pings:.2f}x (≥ 1x)",
        )
    )
