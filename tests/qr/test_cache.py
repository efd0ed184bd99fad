"""The rendered-image cache, against the real Redis of the test run."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from PIL import Image

from services.links.qr.cache import (
    ImageSpec,
    cache_key,
    get_or_render,
    invalidate,
    invalidate_keys,
)
from shared.envelope import BadRequest
from shared.settings import Settings
from tests.qr import images
from tests.qr.scan import assert_carries, decode, rasterise_svg


async def cached_keys(redis_client: aioredis.Redis, settings: Settings) -> set[bytes]:
    return {key async for key in redis_client.scan_iter(match=settings.redis_key("qrimg", "*"))}


def unique(name: str) -> str:
    # Keys are content hashes: a payload of its own keeps each test apart.
    return f"https://example.com/{name}"


async def test_a_repeat_request_is_served_from_the_cache_unchanged(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    spec = ImageSpec(payload=unique("repeat"), size=600, logo=images.logo())
    first, first_cached = await get_or_render(redis_client, settings, spec)
    second, second_cached = await get_or_render(redis_client, settings, spec)
    assert (first_cached, second_cached) == (False, True)
    assert second == first
    assert_carries(second, spec.payload)
    assert await redis_client.get(cache_key(settings, spec)) == first
    ttl = await redis_client.ttl(cache_key(settings, spec))
    assert 0 < ttl <= settings.qr_cache_ttl


@pytest.mark.parametrize(
    "change",
    [
        {"payload": "https://example.com/changed"},
        {"size": 601},
        {"foreground": (0, 0, 90)},
        {"background": (255, 250, 240)},
        {"logo": images.logo("JPEG")},
        {"logo": None},
        {"format": "svg"},
    ],
)
async def test_a_changed_spec_renders_anew_under_a_new_key(
    settings: Settings, redis_client: aioredis.Redis, change: dict[str, Any]
) -> None:
    base = ImageSpec(payload=unique(f"base-{sorted(change)}"), size=600, logo=images.logo())
    await get_or_render(redis_client, settings, base)
    changed = replace(base, **change)
    assert cache_key(settings, changed) != cache_key(settings, base)
    image, was_cached = await get_or_render(redis_client, settings, changed)
    assert not was_cached
    original, still_cached = await get_or_render(redis_client, settings, base)
    assert still_cached
    assert image != original
    if changed.format == "png":
        assert_carries(image, changed.payload)
        assert Image.open(io.BytesIO(image)).size == (changed.size, changed.size)
    else:
        assert decode(rasterise_svg(image)).text == changed.payload


async def test_svg_is_cached_too(settings: Settings, redis_client: aioredis.Redis) -> None:
    spec = ImageSpec(payload=unique("svg"), size=400, format="svg")
    assert spec.content_type == "image/svg+xml"
    first, was_cached = await get_or_render(redis_client, settings, spec)
    assert not was_cached
    assert first.startswith(b"<?xml")
    assert await get_or_render(redis_client, settings, spec) == (first, True)


async def test_invalidate_drops_the_cached_image(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    spec = ImageSpec(payload=unique("invalidate"))
    other = ImageSpec(payload=unique("invalidate-other"))
    await get_or_render(redis_client, settings, spec)
    await get_or_render(redis_client, settings, other)
    assert await invalidate(redis_client, settings, spec) == 1
    assert await redis_client.exists(cache_key(settings, spec)) == 0
    assert (await get_or_render(redis_client, settings, spec))[1] is False
    assert await invalidate_keys(redis_client, cache_key(settings, other)) == 1
    assert (await get_or_render(redis_client, settings, other))[1] is False
    assert await invalidate(redis_client, settings) == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ImageSpec(payload=unique("too-small"), size=99), "'size'"),
        (ImageSpec(payload=unique("too-big"), size=2001), "'size'"),
        (ImageSpec(payload=unique("gif"), logo=images.logo("GIF")), "PNG or JPEG"),
        (
            ImageSpec(payload=unique("huge"), logo=images.noise_png(2 * 1024 * 1024 + 1)),
            "at most 2 MB",
        ),
        (ImageSpec(payload="東" * 2000), "too long"),
        (ImageSpec(payload=unique("grey"), foreground=(240, 240, 240)), "too similar"),
    ],
)
async def test_bad_input_is_a_400_and_caches_nothing(
    settings: Settings, redis_client: aioredis.Redis, spec: ImageSpec, message: str
) -> None:
    before = await cached_keys(redis_client, settings)
    with pytest.raises(BadRequest, match=message):
        await get_or_render(redis_client, settings, spec)
    assert await redis_client.exists(cache_key(settings, spec)) == 0
    assert await cached_keys(redis_client, settings) == before


async def test_concurrent_requests_for_a_new_image_all_get_the_same_bytes(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    spec = ImageSpec(payload=unique("concurrent"), size=800, logo=images.logo())
    results = await asyncio.gather(*(get_or_render(redis_client, settings, spec) for _ in range(8)))
    assert len({image for image, _ in results}) == 1
    assert_carries(results[0][0], spec.payload)
    assert await get_or_render(redis_client, settings, spec) == (results[0][0], True)


async def test_without_redis_the_image_is_still_rendered(settings: Settings) -> None:
    unreachable = aioredis.Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        spec = ImageSpec(payload=unique("no-redis"), size=300)
        image, was_cached = await get_or_render(unreachable, settings, spec)
    finally:
        await unreachable.aclose()
    assert not was_cached
    assert_carries(image, spec.payload)
