"""The edge's application: no middleware on the visitor routes (each handler
answers its own errors as HTML), the ops endpoints, and every resource opened
and closed in a cleanup context.

Routes are laid out so that the later public paths (``/qr/<alias>``,
``/r/<slug>``, ``/u/<username>/<slug>-<id>``, ``/user/login/sso/<token>``) can be
added as plain prefixes: aiohttp matches the most specific prefix first, so
they win over ``/{alias}``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web

from services.links.edge import fast_core
from services.links.edge.bio import BioPages, setup_templates
from services.links.edge.broker import Broker
from services.links.edge.campaigns import CampaignPages
from services.links.edge.click_buffer import ClickBuffer
from services.links.edge.expiry_notices import ExpiryNotices
from services.links.edge.geoip import CountryReader
from services.links.edge.invalidation import Invalidator
from services.links.edge.keys import ACCOUNTS_HTTP, BROKER, CLICKS, EDGE, GEOIP, STATS
from services.links.edge.qr_images import QrImageCollector, QrImages, QrImageStats
from services.links.edge.snapshots import SnapshotStore
from services.links.edge.spool import Spool
from services.links.edge.sso_relay import sso_landing
from services.links.edge.stats import EdgeCollector, EdgeStats
from services.links.edge.visits import Edge
from shared.appkeys import METRICS_REGISTRY, PG_POOL, REDIS, SERVICE_NAME, SETTINGS
from shared.dependencies import DEPENDENCIES, DEPENDENCY_CHECKS, POSTGRES, RABBITMQ
from shared.dependencies import REDIS as REDIS_DEPENDENCY
from shared.observability import add_ops_routes, setup_metrics
from shared.ops_port import ops_port_ctx
from shared.postgres import create_pool
from shared.redis_ctx import redis_ctx
from shared.settings import Settings

FORM_MAX_BYTES: Final = 64 * 1024  # the only bodies the edge reads are small forms
SUBSCRIBE_WAIT: Final = 2.0


async def _postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    # The edge only reads the links schema, and only on cache misses.
    app[PG_POOL] = await create_pool(
        app[SETTINGS].database_url,
        min_size=1,
        max_size=10,
        server_settings={"search_path": "links"},
    )
    try:
        yield
    finally:
        await app[PG_POOL].close()


async def _geoip_ctx(app: web.Application) -> AsyncIterator[None]:
    path = app[SETTINGS].geoip_db
    reader = await asyncio.to_thread(CountryReader, path) if path else None
    if reader is not None:
        app[GEOIP] = reader
    try:
        yield
    finally:
        if reader is not None:
            reader.close()


async def _broker_ctx(app: web.Application) -> AsyncIterator[None]:
    broker = Broker(app[SETTINGS])
    app[BROKER] = broker
    broker.start()
    try:
        yield
    finally:
        await broker.close()


async def _clicks_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    clicks = ClickBuffer(
        app[BROKER],
        Spool(Path(settings.spool_dir)),
        app[STATS],
        public_host=settings.public_host,
        batch_size=settings.click_batch_size,
        flush_interval=settings.click_flush_interval,
    )
    app[CLICKS] = clicks
    clicks.start()
    try:
        yield
    finally:
        await clicks.stop()


async def _accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    timeout = aiohttp.ClientTimeout(
        total=settings.upstream_timeout, connect=settings.upstream_connect_timeout
    )
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[ACCOUNTS_HTTP] = session
        yield


async def _edge_ctx(app: web.Application) -> AsyncIterator[None]:
    edge = app[EDGE]
    edge.store.redis = app[REDIS]
    edge.store.pool = app[PG_POOL]
    edge.attach(app[REDIS], app[CLICKS], app.get(GEOIP), app[ACCOUNTS_HTTP])
    edge.expiry = ExpiryNotices(app[REDIS], app[BROKER], app[SETTINGS])
    await asyncio.to_thread(edge.uas.warm_up)
    invalidator = Invalidator(app[SETTINGS], edge.store)
    invalidator.start()
    with suppress(TimeoutError):  # Redis down: serve anyway, the subscriber keeps trying
        await asyncio.wait_for(invalidator.subscribed.wait(), SUBSCRIBE_WAIT)
    try:
        yield
    finally:
        await invalidator.close()
        await edge.expiry.close()


async def _check_broker(app: web.Application) -> None:
    broker = app[BROKER]
    if not broker.became_ready.is_set():  # still connecting at startup: give it a moment
        with suppress(TimeoutError):
            await asyncio.wait_for(broker.became_ready.wait(), 1.5)
    if not broker.ready:
        raise ConnectionError("not connected to the broker (clicks go to the spool)")


async def _can_serve(app: web.Application) -> dict[str, str]:
    """The edge serves while it can find links (some cached, or Redis or Postgres
    answering) and keep their clicks (the broker, or else a writable spool)."""
    monitor = app[DEPENDENCIES]
    store = app[EDGE].store
    sources = not monitor.is_down(REDIS_DEPENDENCY) or not monitor.is_down(POSTGRES)
    clicks = app[CLICKS]
    return {
        "snapshots": "ok"
        if sources or len(store.link_cache)
        else "no link cached and neither Redis nor Postgres answers",
        "clicks": "ok"
        if app[BROKER].ready or await asyncio.to_thread(clicks.spool.writable)
        else "neither the broker nor the spool directory can take clicks",
    }


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=FORM_MAX_BYTES)
    app[SETTINGS] = settings
    app[SERVICE_NAME] = "edge"
    stats = EdgeStats()
    app[STATS] = stats
    store = SnapshotStore(settings, stats)
    edge = Edge(settings, store, stats)
    app[EDGE] = edge
    setup_metrics(app)
    app[METRICS_REGISTRY].register(
        EdgeCollector(
            stats,
            {
                "edge_link_cache_entries": lambda: len(store.links.cache),
                "edge_domain_cache_entries": lambda: len(store.domains.cache),
                "edge_domain_misses_cached": lambda: len(store.domains.misses),
                "edge_clicks_in_buffer": lambda: len(app[CLICKS]) if CLICKS in app else 0,
                "edge_broker_ready": lambda: float(BROKER in app and app[BROKER].ready),
            },
        )
    )
    for ctx in (
        redis_ctx,
        _postgres_ctx,
        _geoip_ctx,
        _broker_ctx,
        _clicks_ctx,
        _accounts_ctx,
        _edge_ctx,
    ):
        app.cleanup_ctx.append(ctx)
    qr_images = QrImages(settings, QrImageStats())
    app[METRICS_REGISTRY].register(QrImageCollector(qr_images.stats))
    app.cleanup_ctx.append(qr_images.ctx)
    app.cleanup_ctx.append(ops_port_ctx(lambda s: s.edge_ops_port))  # last: sees them all
    # Ready means "can serve redirects", not "every dependency is up": a
    # database blip must not pull every edge out of the load balancer.
    # /metrics only on the ops port (EDGE_OPS_PORT): the public one faces the internet.
    add_ops_routes(
        app, frozenset({"postgres", "redis"}), readiness=_can_serve, public_metrics=False
    )
    app[DEPENDENCY_CHECKS][RABBITMQ] = _check_broker
    router = app.router
    # The short-link route first: it is what nearly every request is.
    router.add_get("/{alias}", edge.visit)
    router.add_post("/{alias}", edge.submit_password)
    router.add_get("/", edge.root)
    router.add_post("/{alias}/overlay", edge.submit_overlay)
    router.add_get("/user/login/sso/{token}", sso_landing)
    campaigns = CampaignPages(edge, settings)
    router.add_get("/r/{slug}", campaigns.rotate)
    router.add_get("/u/{username}/{page}", campaigns.campaign_list)
    router.add_get("/qr/{alias}", qr_images.image)
    # After /u/<username>/<page>: a user named "b" keeps their campaign lists.
    setup_templates(app)
    bio = BioPages(edge)
    edge.render_bio = bio.render
    router.add_get("/{alias}/b/{block}", bio.block)
    router.add_post("/{alias}/b/{block}", bio.submit)
    router.add_route("*", "/{tail:.+}", edge.unknown)
    if settings.edge_fast_core:
        fast_core.install(app)
    return app
