"""``python -m services.analytics.worker``: the click consumer.

Any number of replicas may run: they share the durable queues, and every
write is keyed by event id and serialised per owner. Each answers
``/health``, ``/ready`` and ``/metrics`` on ``WORKER_METRICS_PORT`` when it is
set (no HTTP server otherwise). Every resource and background task is owned
by a cleanup context of the worker's application, so the worker runs the
same way in its own process and inside a test."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from typing import Any

import aio_pika
from aiohttp import web

from services.analytics.consumer import ClickConsumer, retrying
from services.analytics.db import postgres_ctx
from services.analytics.enrich import Enricher
from services.analytics.keys import CLICKS, ENRICHER, LIFECYCLE, WORKER_ID, WORKER_METRICS
from services.analytics.lifecycle import LifecycleConsumer
from services.analytics.maintenance import (
    ensure_partitions,
    fold_breakdowns,
    purge_expired,
    purge_visitors,
    retire_partitions,
)
from services.analytics.metrics import WorkerMetrics
from shared.amqp import (
    CLICKS_QUEUE,
    LIFECYCLE_QUEUE,
    declare_dead_letter_exchange,
    declare_queue,
    open_publisher,
)
from shared.appkeys import AMQP, METRICS_REGISTRY, PG_POOL, SETTINGS
from shared.dates import utcnow
from shared.dependencies import DEPENDENCY_CHECKS
from shared.observability import CHECKS_BY_RESOURCE
from shared.service import create_service_app, serve_in_background
from shared.settings import Settings

log = logging.getLogger("services.analytics.worker")

PARTITION_CHECK_INTERVAL = 3600.0
FOLD_INTERVAL = 600.0
SHUTDOWN_GRACE = 10.0


def connection_name(app: web.Application) -> str:
    """How this worker's broker connection and Postgres sessions are named."""
    return f"{app[SETTINGS].amqp_prefix}analytics-worker:{app[WORKER_ID]}"


async def amqp_ctx(app: web.Application) -> AsyncIterator[None]:
    """A robust connection: after a broker restart it reconnects and re-declares."""
    connection = await aio_pika.connect_robust(
        app[SETTINGS].amqp_url,
        client_properties={"connection_name": connection_name(app)},
        reconnect_interval=1.0,
    )
    app[AMQP] = connection
    try:
        yield
    finally:
        await connection.close()


async def enricher_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    enricher = Enricher(settings.internal_secret, settings.geoip_db)
    enricher.warm_up()
    app[ENRICHER] = enricher
    try:
        yield
    finally:
        enricher.close()


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _every(interval: float, action: Callable[[], Awaitable[Any]], what: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await action()
        except Exception:
            log.exception("%s failed; trying again in %.0fs", what, interval)


async def partitions_ctx(app: web.Application) -> AsyncIterator[None]:
    """Monthly partitions exist before their first click: at start and hourly."""
    pool, metrics = app[PG_POOL], app[WORKER_METRICS]

    async def check() -> None:
        await retrying(lambda: ensure_partitions(pool, utcnow().date()), metrics, "partitions")

    await check()
    task = asyncio.create_task(_every(PARTITION_CHECK_INTERVAL, check, "creating partitions"))
    try:
        yield
    finally:
        await _stop(task)


async def fold_ctx(app: web.Application) -> AsyncIterator[None]:
    """Finished days join the all-time breakdowns: at start and every few minutes."""
    pool, metrics = app[PG_POOL], app[WORKER_METRICS]

    async def fold() -> None:
        days = await retrying(lambda: fold_breakdowns(pool, utcnow().date()), metrics, "folding")
        if days:
            log.info("folded the breakdowns of %s day(s) up to %s", len(days), days[-1])

    await fold()
    task = asyncio.create_task(_every(FOLD_INTERVAL, fold, "folding breakdowns"))
    try:
        yield
    finally:
        await _stop(task)


async def purge_ctx(app: web.Application) -> AsyncIterator[None]:
    """Raw clicks past their plan's retention, and visitors of past days, go."""
    pool, metrics = app[PG_POOL], app[WORKER_METRICS]

    async def purge() -> None:
        now = utcnow()
        await retire_partitions(pool, now)  # whole expired months first: no row deletes
        expired = await purge_expired(pool, now)
        visitors = await purge_visitors(pool, now.date())
        metrics.purged_rows.labels("retention").inc(expired)
        metrics.purged_rows.labels("visitors").inc(visitors)
        if expired:
            log.info("purged %s raw clicks past their retention", expired)

    task = asyncio.create_task(
        _every(app[SETTINGS].analytics_purge_interval, purge, "purging old clicks")
    )
    try:
        yield
    finally:
        await _stop(task)


async def clicks_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    connection = app[AMQP]
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=settings.analytics_prefetch)
    declared = await declare_queue(channel, settings, CLICKS_QUEUE)
    confirming = await connection.channel(publisher_confirms=True)
    consumer = ClickConsumer(
        pool=app[PG_POOL],
        enricher=app[ENRICHER],
        dead_letters=await declare_dead_letter_exchange(confirming, settings),
        metrics=app[WORKER_METRICS],
        batch_size=settings.analytics_batch_size,
        batch_wait=settings.analytics_batch_wait,
        events=await open_publisher(connection, settings),
    )
    app[CLICKS] = consumer
    task = asyncio.create_task(consumer.run())
    tag = await declared.queue.consume(consumer.on_message, no_ack=False)
    try:
        yield
    finally:
        with suppress(aio_pika.exceptions.AMQPError, RuntimeError, ConnectionError):
            await declared.queue.cancel(tag)
        await consumer.wait_idle(SHUTDOWN_GRACE)
        await _stop(task)  # what is left unacknowledged is redelivered
        for open_channel in (confirming, channel):
            with suppress(aio_pika.exceptions.AMQPError, RuntimeError, ConnectionError):
                await open_channel.close()


async def lifecycle_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    channel = await app[AMQP].channel()
    await channel.set_qos(prefetch_count=8)
    declared = await declare_queue(channel, settings, LIFECYCLE_QUEUE)
    consumer = LifecycleConsumer(app[PG_POOL], app[WORKER_METRICS])
    app[LIFECYCLE] = consumer
    task = asyncio.create_task(consumer.run())
    tag = await declared.queue.consume(consumer.on_message, no_ack=False)
    try:
        yield
    finally:
        with suppress(aio_pika.exceptions.AMQPError, RuntimeError, ConnectionError):
            await declared.queue.cancel(tag)
        await _stop(task)
        with suppress(aio_pika.exceptions.AMQPError, RuntimeError, ConnectionError):
            await channel.close()


def create_worker_app(settings: Settings, *, worker_id: str | None = None) -> web.Application:
    """The worker as an application: its ops routes, and everything it runs as cleanup contexts."""
    app = create_service_app(settings, name="worker", needs=(), verify_identity=False)
    app[WORKER_ID] = worker_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    app[WORKER_METRICS] = WorkerMetrics.register(app[METRICS_REGISTRY])
    app[DEPENDENCY_CHECKS] = {
        "postgres": CHECKS_BY_RESOURCE["postgres"][1],
        "rabbitmq": CHECKS_BY_RESOURCE["amqp"][1],
    }
    app.cleanup_ctx.append(postgres_ctx(connection_name, max_size=4))
    app.cleanup_ctx.append(amqp_ctx)
    app.cleanup_ctx.append(enricher_ctx)
    app.cleanup_ctx.append(partitions_ctx)
    app.cleanup_ctx.append(fold_ctx)
    app.cleanup_ctx.append(lifecycle_ctx)
    app.cleanup_ctx.append(clicks_ctx)
    app.cleanup_ctx.append(purge_ctx)
    return app


def main() -> None:
    serve_in_background(create_worker_app, name="worker", ops_port=lambda s: s.worker_metrics_port)


if __name__ == "__main__":
    main()
