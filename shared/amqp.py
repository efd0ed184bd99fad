"""RabbitMQ: one robust connection per process, the events exchange and the
names of every exchange and queue (all under ``AMQP_PREFIX``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import aio_pika
from aiohttp import web

from shared.appkeys import AMQP, EVENTS, SETTINGS
from shared.events import EventPublisher
from shared.settings import Settings

EXCHANGE: Final = "events"
DEAD_LETTER_EXCHANGE: Final = "events.dead"


def name(settings: Settings, local: str) -> str:
    """A namespaced exchange or queue name, e.g. ``sl.analytics.clicks``."""
    return settings.amqp_prefix + local


async def connect(settings: Settings) -> aio_pika.abc.AbstractRobustConnection:
    return await aio_pika.connect_robust(
        settings.amqp_url, client_properties={"connection_name": settings.amqp_prefix}
    )


async def declare_events_exchange(
    channel: aio_pika.abc.AbstractChannel, settings: Settings
) -> aio_pika.abc.AbstractExchange:
    return await channel.declare_exchange(
        name(settings, EXCHANGE), aio_pika.ExchangeType.TOPIC, durable=True
    )


async def open_publisher(
    connection: aio_pika.abc.AbstractRobustConnection, settings: Settings
) -> EventPublisher:
    channel = await connection.channel(publisher_confirms=True)
    return EventPublisher(await declare_events_exchange(channel, settings))


async def amqp_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the process's AMQP connection and a confirming event publisher."""
    settings = app[SETTINGS]
    connection = await connect(settings)
    app[AMQP] = connection
    app[EVENTS] = await open_publisher(connection, settings)
    try:
        yield
    finally:
        await connection.close()
