"""Rendered QR images cached in Redis, keyed by a hash of everything drawn.

The key is ``qrimg:<sha256>`` over (renderer version, format, size, colours,
logo hash, payload), so an update that changes what a code shows lands on a
new key by itself and the old image simply expires (``QR_CACHE_TTL``). Images
are immutable per key, which also makes them safe to serve with a long
``Cache-Control`` and the key's hash as ``ETag``.

A spec may name its logo by digest (``logo_sha256``) instead of carrying the
bytes: the key is the same, and the bytes are loaded (``load_logo``) only
when the image has to be rendered. The edge serves cached images that way
without reading logos from Postgres.

The cache only saves work: when Redis is unreachable the image is rendered
and served all the same. Within one process, concurrent misses for the same
key share a single render.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.links.qr.colors import DEFAULT_BACKGROUND, DEFAULT_FOREGROUND, RGB
from services.links.qr.render import (
    DEFAULT_SIZE,
    RENDERER_VERSION,
    ImageFormat,
    check_size,
    render_async,
)
from shared.settings import Settings

log = logging.getLogger("services.links.qr.cache")

KEY_PART: Final = "qrimg"
CONTENT_TYPES: Final[dict[str, str]] = {"png": "image/png", "svg": "image/svg+xml"}

LogoLoader = Callable[[], Awaitable[bytes | None]]


class LogoUnavailable(LookupError):
    """The logo a spec names by digest could not be loaded (it changed meanwhile)."""


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """Everything that decides the bytes of one QR image."""

    payload: str
    size: int = DEFAULT_SIZE
    foreground: RGB = DEFAULT_FOREGROUND
    background: RGB = DEFAULT_BACKGROUND
    logo: bytes | None = field(default=None, repr=False)
    format: ImageFormat = "png"
    # The hex SHA-256 of the logo, when its bytes are left out until a render needs them.
    logo_sha256: str | None = None

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def digest(self) -> str:
        logo_hash = self.logo_sha256
        if self.logo is not None:
            logo_hash = hashlib.sha256(self.logo).hexdigest()
        material = orjson.dumps(
            [
                RENDERER_VERSION,
                self.format,
                self.size,
                self.foreground,
                self.background,
                logo_hash,
                self.payload,
            ]
        )
        return hashlib.sha256(material).hexdigest()


def cache_key(settings: Settings, spec: ImageSpec) -> str:
    return settings.redis_key(KEY_PART, spec.digest())


_inflight: dict[str, asyncio.Task[bytes]] = {}


async def get_or_render(
    redis: aioredis.Redis,
    settings: Settings,
    spec: ImageSpec,
    *,
    ttl: int | None = None,
    load_logo: LogoLoader | None = None,
) -> tuple[bytes, bool]:
    """The image for ``spec`` and whether it came from the cache.

    Bad input (size, logo, data too long) raises ``BadRequest`` and stores nothing.
    ``load_logo`` gives the bytes of a logo named only by ``spec.logo_sha256``; it
    is called on a miss, and :class:`LogoUnavailable` is raised if it answers
    ``None`` or other bytes."""
    check_size(spec.size)
    key = cache_key(settings, spec)
    try:
        cached = await redis.get(key)
    except RedisError as exc:
        log.warning("qr image cache unavailable, rendering: %s", exc)
        cached = None
    if isinstance(cached, bytes):
        return cached, True
    task = _inflight.get(key)
    if task is None:
        task = asyncio.ensure_future(
            _render_and_store(redis, key, spec, ttl or settings.qr_cache_ttl, load_logo)
        )
        _inflight[key] = task
        task.add_done_callback(_finished(key))
    # Shielded: a client that goes away does not cancel a render others wait for.
    return await asyncio.shield(task), False


def _finished(key: str) -> Callable[[asyncio.Task[bytes]], None]:
    def done(task: asyncio.Task[bytes]) -> None:
        _inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone away

    return done


async def _render_and_store(
    redis: aioredis.Redis, key: str, spec: ImageSpec, ttl: int, load_logo: LogoLoader | None
) -> bytes:
    if spec.logo is None and spec.logo_sha256 is not None:
        logo = await load_logo() if load_logo is not None else None
        if logo is None or hashlib.sha256(logo).hexdigest() != spec.logo_sha256:
            raise LogoUnavailable(spec.logo_sha256)
        spec = replace(spec, logo=logo)
    image = await render_async(
        spec.payload,
        format=spec.format,
        size=spec.size,
        fg=spec.foreground,
        bg=spec.background,
        logo=spec.logo,
    )
    try:
        await redis.set(key, image, ex=ttl)
    except RedisError as exc:
        log.warning("qr image not cached: %s", exc)
    return image


async def invalidate(redis: aioredis.Redis, settings: Settings, *specs: ImageSpec) -> int:
    """Drop the cached images of ``specs`` now (they would expire anyway); how many were cached."""
    return await invalidate_keys(redis, *(cache_key(settings, spec) for spec in specs))


async def invalidate_keys(redis: aioredis.Redis, *keys: str) -> int:
    """Drop cached images by the keys :func:`cache_key` gave; how many were cached."""
    if not keys:
        return 0
    removed: int = await redis.delete(*keys)
    return removed
