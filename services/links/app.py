"""The links service: links, branded domains (and the resources that follow),
behind the gateway. The edge (``services/links/edge``) is a separate process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress

import aio_pika
import aiohttp
from aiohttp import web

from services.links import account_stats, bulk, export, link_handlers, tags, usage
from services.links.accounts_client import AccountsClient
from services.links.analytics_client import AnalyticsClient
from services.links.crud import add_routes
from services.links.domain_verification import DomainVerifier, recheck_loop
from services.links.keys import ACCOUNTS, ANALYTICS, DOMAIN_VERIFIER, SAFE_FETCHER, TITLES
from services.links.lifecycle import QUEUE, LifecycleConsumer
from services.links.resources import RESOURCES
from services.links.titles import TitleFetcher
from shared.amqp import declare_queue
from shared.appkeys import AMQP, PG_POOL, SETTINGS
from shared.dependencies import DEPENDENCY_CHECKS
from shared.observability import CHECKS_BY_RESOURCE
from shared.outbox import outbox_ctx
from shared.postgres import create_pool
from shared.safe_fetch import SafeFetcher
from shared.service import create_service_app
from shared.settings import Settings

SCHEMA = "links"


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    """The pool, with this service's schema first on the search path (the
    shared snapshot SQL names its tables without a schema)."""
    app[PG_POOL] = await create_pool(
        app[SETTINGS].database_url, server_settings={"search_path": f"{SCHEMA}, public"}
    )
    try:
        yield
    finally:
        await app[PG_POOL].close()


async def upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    """One client session for the analytics and accounts upstreams."""
    connector = aiohttp.TCPConnector(limit=50, keepalive_timeout=30)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        app[ANALYTICS] = AnalyticsClient(app[SETTINGS], session)
        app[ACCOUNTS] = AccountsClient(app[SETTINGS], session)
        yield


async def verifier_ctx(app: web.Application) -> AsyncIterator[None]:
    """The ownership check of branded domains, and while it is on, its background round."""
    settings = app[SETTINGS]
    verifier = DomainVerifier(settings)
    app[DOMAIN_VERIFIER] = verifier
    task = None
    if settings.domain_verification:
        task = asyncio.create_task(recheck_loop(app, verifier), name="domain-verifier")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


async def titles_ctx(app: web.Application) -> AsyncIterator[None]:
    """The SSRF-safe fetcher and the background title tasks that use it."""
    settings = app[SETTINGS]
    async with SafeFetcher(allow_private=settings.allow_private_fetch) as fetcher:
        app[SAFE_FETCHER] = fetcher
        app[TITLES] = TitleFetcher(app[PG_POOL], fetcher)
        try:
            yield
        finally:
            await app[TITLES].close()


async def lifecycle_ctx(app: web.Application) -> AsyncIterator[None]:
    """Consume ``user.deleted`` from the durable ``links.lifecycle`` queue."""
    settings = app[SETTINGS]
    channel = await app[AMQP].channel()
    await channel.set_qos(prefetch_count=4)
    queue = (await declare_queue(channel, settings, QUEUE)).queue
    consumer = LifecycleConsumer(app)
    tag = await queue.consume(consumer.on_message, no_ack=False)
    try:
        yield
    finally:
        # The connection may be going away already; unacked messages are redelivered.
        with suppress(aio_pika.exceptions.AMQPError, RuntimeError, ConnectionError):
            await queue.cancel(tag)
        await consumer.drain()
        if not channel.is_closed:
            await channel.close()


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(settings, name="links", needs=("redis", "amqp"))
    app.cleanup_ctx.insert(0, postgres_ctx)  # opened first, closed last
    checks = app[DEPENDENCY_CHECKS]
    app[DEPENDENCY_CHECKS] = {"postgres": CHECKS_BY_RESOURCE["postgres"][1], **checks}
    app.cleanup_ctx.append(outbox_ctx(SCHEMA))
    app.cleanup_ctx.append(upstreams_ctx)
    app.cleanup_ctx.append(verifier_ctx)
    app.cleanup_ctx.append(titles_ctx)
    app.cleanup_ctx.append(lifecycle_ctx)
    app.router.add_routes(link_handlers.ROUTES)
    app.router.add_routes(
        bulk.ROUTES + tags.ROUTES + export.ROUTES + account_stats.ROUTES + usage.ROUTES
    )
    add_routes(app, *RESOURCES)
    return app
