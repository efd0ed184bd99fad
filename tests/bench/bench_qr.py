"""QR image throughput: a 600 px PNG with and without a logo, rendered
(cache miss) versus served from the Redis cache, both through
``get_or_render`` against the real Redis, in the same run.

Target: the cached rate is at least 20x the uncached one."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from PIL import Image, ImageDraw

from services.links.qr.cache import ImageSpec, get_or_render
from services.links.qr.render import normalize_logo
from shared.redis_ctx import create_redis
from shared.settings import Settings
from tests.bench.harness import bench_settings, verdict

SIZE = 600
CONCURRENCY = 4
UNCACHED_SECONDS = 4.0
CACHED_SECONDS = 2.0
TARGET_RATIO = 20.0


def _logo() -> bytes:
    """A 1000 x 1000 JPEG, stored normalised (a <= 512 px PNG) as the API should."""
    image = Image.new("RGB", (1000, 1000), (250, 200, 40))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 100, 900, 900), fill=(200, 20, 60))
    draw.rectangle((350, 350, 650, 650), fill=(10, 10, 10))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return normalize_logo(out.getvalue())


async def _rate(
    redis: aioredis.Redis,
    settings: Settings,
    spec_for: Callable[[int], ImageSpec],
    seconds: float,
    *,
    expect_cached: bool,
) -> float:
    """Images per second from ``CONCURRENCY`` clients calling get_or_render for ``seconds``."""
    counter = 0
    deadline = time.perf_counter() + seconds

    async def client() -> int:
        nonlocal counter
        done = 0
        while time.perf_counter() < deadline:
            counter += 1
            _, was_cached = await get_or_render(redis, settings, spec_for(counter))
            if was_cached != expect_cached:
                raise RuntimeError(f"expected was_cached={expect_cached}, got {was_cached}")
            done += 1
        return done

    started = time.perf_counter()
    total = sum(await asyncio.gather(*(client() for _ in range(CONCURRENCY))))
    return total / (time.perf_counter() - started)


async def _compare(
    redis: aioredis.Redis, settings: Settings, label: str, logo: bytes | None
) -> None:
    slug = label.replace(" ", "-")

    def fresh(i: int) -> ImageSpec:
        # A payload of its own per call: every call is a miss.
        return ImageSpec(payload=f"https://example.com/bench/{slug}/{i}", size=SIZE, logo=logo)

    hot = ImageSpec(payload="https://example.com/bench/hot", size=SIZE, logo=logo)
    await get_or_render(redis, settings, hot)  # the one image the cached phase serves
    uncached = await _rate(redis, settings, fresh, UNCACHED_SECONDS, expect_cached=False)
    cached = await _rate(redis, settings, lambda _: hot, CACHED_SECONDS, expect_cached=True)
    ratio = cached / uncached
    print(
        f"{label:<10} uncached {uncached:>8,.1f} images/s   "
        f"cached {cached:>9,.1f} images/s   ratio {ratio:>6.1f}x"
    )
    print(
        verdict(
            f"cached >= {TARGET_RATIO:.0f}x uncached ({label})",
            ratio >= TARGET_RATIO,
            f"{ratio:.1f}x",
        )
    )


async def main() -> None:
    logo = _logo()
    async with bench_settings() as settings:
        redis = create_redis(settings.redis_url)
        try:
            print(
                f"{SIZE} px PNG through get_or_render, {CONCURRENCY} concurrent callers, "
                f"real Redis; logo stored normalised ({len(logo):,} bytes)"
            )
            await _compare(redis, settings, "no logo", None)
            await _compare(redis, settings, "with logo", logo)
        finally:
            await redis.aclose()
