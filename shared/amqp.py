"""RabbitMQ: one robust connection per process, the events exchange and the
names of every exchange and queue (all under ``AMQP_PREFIX``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Final

import aio_pika
from aio_pika.connection import make_url
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
    """A robust connection (it reconnects by itself once it was up).

    Unlike ``aio_pika.connect_robust``, a connection that fails to open (or
    whose opening is cancelled, e.g. by a timeout) is closed here: left to the
    garbage collector it would schedule its own ``close()`` on whatever event
    loop runs then."""
    connection = aio_pika.RobustConnection(
        make_url(settings.amqp_url),
        client_properties={"connection_name": settings.amqp_prefix},
    )
    try:
        await connection.connect()
    except BaseException:
        with suppress(Exception):
            await connection.close()
        raise
    return connection


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
