"""``python -m services.webhooks.delivery``: consumes events, sends deliveries.

Any number of replicas may run: they share the durable ``webhooks.events``
queue and claim due deliveries with ``SKIP LOCKED``. Each answers ``/health``,
``/ready`` and ``/metrics`` on ``WEBHOOK_DELIVERY_PORT`` when it is set. Every
resource and background task is owned by a cleanup context of the process's
application, so it runs the same way alone and inside a test."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Final

from aiohttp import web

from services.webhooks.fanout import LOST_CHANNEL_ERRORS, EventConsumer, declare_queue
from services.webhooks.keys import CONSUMER, DISPATCHER, SENDER
from services.webhooks.resources import sender_ctx
from services.webhooks.schedule import HOUSEKEEPING_INTERVAL, Dispatcher, every, housekeeping
from shared.amqp import connect
from shared.appkeys import AMQP, PG_POOL, SETTINGS
from shared.observability import CHECKS_BY_RESOURCE, READY_CHECKS
from shared.postgres import create_pool
from shared.service import create_service_app, serve_in_background
from shared.settings import Settings

log = logging.getLogger("services.webhooks.delivery")

PREFETCH: Final = 16
SHUTDOWN_GRACE: Final = 10.0


async def postgres_ctx(app: web.Application) -> AsyncIterator[None]:
    app[PG_POOL] = await create_pool(
        app[SETTINGS].database_url,
        max_size=4,
        server_settings={"application_name": "webhook-delivery"},
    )
    try:
        yield
    finally:
        await app[PG_POOL].close()


async def amqp_ctx(app: web.Application) -> AsyncIterator[None]:
    connection = await connect(app[SETTINGS])
    app[AMQP] = connection
    try:
        yield
    finally:
        await connection.close()


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    """The dispatcher, on a pool of its own whose commits do not wait for the disk:
    what it writes (claims, outcomes) is re-done if a Postgres crash loses it, which
    at-least-once delivery allows. The fan-out's inserts, acknowledged to the
    broker, stay on the durable pool."""
    schedule_pool = await create_pool(
        app[SETTINGS].database_url,
        max_size=4,
        server_settings={"application_name": "webhook-delivery", "synchronous_commit": "off"},
    )
    dispatcher = Dispatcher(schedule_pool, app[SENDER], app[SETTINGS])
    app[DISPATCHER] = dispatcher
    task = asyncio.create_task(dispatcher.run(), name="webhooks-dispatcher")
    dispatcher.wake()  # whatever came due while no process ran
    try:
        yield
    finally:
        await dispatcher.stop(SHUTDOWN_GRACE)
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await schedule_pool.close()


async def consumer_ctx(app: web.Application) -> AsyncIterator[None]:
    channel = await app[AMQP].channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await declare_queue(channel, app[SETTINGS])
    consumer = EventConsumer(app[PG_POOL], app[DISPATCHER].wake)
    app[CONSUMER] = consumer
    tag = await queue.consume(consumer.on_message, no_ack=False)
    try:
        yield
    finally:
        with suppress(*LOST_CHANNEL_ERRORS):
            await queue.cancel(tag)
        await consumer.drain(SHUTDOWN_GRACE)
        with suppress(*LOST_CHANNEL_ERRORS):
            await channel.close()


async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
    """Finished deliveries and old attempts go."""
    task = asyncio.create_task(
        every(HOUSEKEEPING_INTERVAL, lambda: housekeeping(app[PG_POOL]), "webhook housekeeping")
    )
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def create_delivery_app(settings: Settings) -> web.Application:
    """The delivery process as an application: ops routes, and everything it runs
    as cleanup contexts (the dispatcher before the consumer that wakes it)."""
    app = create_service_app(settings, name="webhook-delivery", needs=(), verify_identity=False)
    app[READY_CHECKS] = {
        "postgres": CHECKS_BY_RESOURCE["postgres"][1],
        "rabbitmq": CHECKS_BY_RESOURCE["amqp"][1],
    }
    app.cleanup_ctx.append(postgres_ctx)
    app.cleanup_ctx.append(amqp_ctx)
    app.cleanup_ctx.append(sender_ctx)
    app.cleanup_ctx.append(dispatcher_ctx)
    app.cleanup_ctx.append(consumer_ctx)
    app.cleanup_ctx.append(housekeeping_ctx)
    return app


def main() -> None:
    serve_in_background(
        create_delivery_app, name="webhook-delivery", ops_port=lambda s: s.webhook_delivery_port
    )


if __name__ == "__main__":
    main()
