"""``GET|HEAD /qr/<alias>``: a QR code's image (PNG, or ``?format=svg``; ``?size=``
100-2000 px, default 300).

Each request reads the code's row by alias (one indexed row, never the logo),
so an update shows at once; the image comes from the Redis cache keyed by a
hash of everything drawn, rendered off the event loop on a miss
(:mod:`services.links.qr.cache`). That hash is the ``ETag``: a browser or CDN
revalidating gets a 304 without the image being looked up at all, and a
shared cache may keep the image a few minutes (after an update, a new image
is fetched at the latest when that time is up).

Errors are small JSON bodies (the address is for images, not pages), except
an unknown alias, which gets the edge's usual 404 page."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Final

import asyncpg
import orjson
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from services.links.edge import pages
from services.links.qr.cache import LogoUnavailable, get_or_render
from services.links.qr.images import image_options, load_code, logo_loader
from services.links.qr.render import ImageFormat
from shared.appkeys import PG_POOL, REDIS
from shared.envelope import BadRequest
from shared.settings import Settings

log = logging.getLogger("edge.qr")

ALIAS_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
CACHE_CONTROL: Final = "public, max-age=300"
# Our SVG holds nothing but paths, rects and a PNG data URI; this keeps it inert
# even if it is opened as a document.
SVG_CSP: Final = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
UNAVAILABLE: Final = "The image is unavailable right now. Please retry."


class QrImageStats:
    """What the image route did since the process started."""

    __slots__ = ("bad_request", "cached", "not_found", "not_modified", "rendered")

    def __init__(self) -> None:
        self.rendered = 0  # images drawn for this request (cache miss)
        self.cached = 0  # images served from the Redis cache
        self.not_modified = 0  # 304s: the client's copy is current
        self.not_found = 0
        self.bad_request = 0


class QrImageCollector(Collector):
    def __init__(self, stats: QrImageStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "edge_qr_images", "QR image requests by outcome", labels=["outcome"]
        )
        for outcome in QrImageStats.__slots__:
            family.add_metric([outcome], getattr(self.stats, outcome))
        yield family


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps({"error": 1, "message": message}),
        content_type="application/json",
        headers={"Cache-Control": pages.NO_STORE},
    )


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/")
        if tag in ("*", etag):
            return True
    return False


class QrImages:
    """The handler; Redis and the Postgres pool are attached at startup."""

    def __init__(self, settings: Settings, stats: QrImageStats) -> None:
        self.settings = settings
        self.stats = stats
        self.redis: aioredis.Redis | None = None
        self.pool: asyncpg.Pool | None = None

    async def ctx(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: uses the app's Redis client and Postgres pool (opened before)."""
        self.redis = app[REDIS]
        self.pool = app[PG_POOL]
        yield

    async def image(self, request: web.Request) -> web.StreamResponse:
        alias = request.match_info["alias"]
        if not ALIAS_RE.fullmatch(alias):
            self.stats.not_found += 1
            return pages.not_found_page()
        try:
            size, image_format = image_options(request.query)
        except BadRequest as exc:
            self.stats.bad_request += 1
            return _error(400, exc.message)
        for _ in range(2):
            try:
                return await self._answer(request, alias, size, image_format)
            except LogoUnavailable:
                continue  # the code changed between its two reads: read it again
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("could not serve QR code %r: %s", alias, exc)
                break
        return _error(503, UNAVAILABLE)

    async def _answer(
        self, request: web.Request, alias: str, size: int, image_format: ImageFormat
    ) -> web.StreamResponse:
        assert self.redis is not None
        assert self.pool is not None
        code = await load_code(self.pool, self.settings, alias)
        if code is None:
            self.stats.not_found += 1
            return pages.not_found_page()
        spec = code.spec(size=size, format=image_format)
        etag = f'"{spec.digest()}"'
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
        if _matches(request.headers.get("If-None-Match"), etag):
            self.stats.not_modified += 1
            return web.Response(status=304, headers=headers)
        try:
            image, cached = await get_or_render(
                self.redis, self.settings, spec, load_logo=logo_loader(self.pool, code)
            )
        except BadRequest as exc:  # e.g. a size too small for this much data
            self.stats.bad_request += 1
            return _error(400, exc.message)
        if cached:
            self.stats.cached += 1
        else:
            self.stats.rendered += 1
        headers["X-Content-Type-Options"] = "nosniff"
        if image_format == "svg":
            headers["Content-Security-Policy"] = SVG_CSP
        return web.Response(body=image, content_type=spec.content_type, headers=headers)
