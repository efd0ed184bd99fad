"""RabbitMQ: one robust connection per process, and the whole topology (the
events exchange, the dead-letter exchange and every durable queue with its
bindings), defined once, under ``AMQP_PREFIX``.

Publishers and consumers declare the same topology: a publisher declares every
durable queue before its first message (:func:`open_publisher`), so an event
published before its consumer ever ran (the first admin's plan, announced at
the first start) waits in its queue instead of being routed nowhere and lost.
Declaring is idempotent, and a robust channel declares it again after every
reconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Final

import aio_pika
from aio_pika.connection import make_url
from aiohttp import web
from pamqp.common import Arguments

from shared.appkeys import AMQP, EVENTS, SETTINGS
from shared.events import (
    CLICK_RECORDED,
    LINK_CREATED,
    LINK_DELETED,
    LINK_EXPIRED,
    LINK_UPDATED,
    PLAN_CHANGED,
    QUOTA_REACHED,
    USER_DELETED,
    EventPublisher,
)
from shared.settings import Settings

EXCHANGE: Final = "events"
DEAD_LETTER_EXCHANGE: Final = "events.dead"


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A durable queue: its name (before the prefix), the event types routed to
    it, and whether what its consumer rejects is parked in ``<name>.dead``."""

    name: str
    routing_keys: tuple[str, ...]
    dead_letters: bool = True


CLICKS_QUEUE: Final = "analytics.clicks"
LIFECYCLE_QUEUE: Final = "analytics.lifecycle"
LINKS_LIFECYCLE_QUEUE: Final = "links.lifecycle"
WEBHOOKS_QUEUE: Final = "webhooks.events"
# Every durable queue of the system. (The gateway's queues are its replicas'
# own, exclusive: they live only while their replica does.)
QUEUES: Final[dict[str, QueueSpec]] = {
    spec.name: spec
    for spec in (
        QueueSpec(CLICKS_QUEUE, (CLICK_RECORDED,)),
        QueueSpec(LIFECYCLE_QUEUE, (LINK_DELETED, USER_DELETED, PLAN_CHANGED)),
        # Declared without dead-lettering since its first release: a queue
        # cannot change its arguments once it exists.
        QueueSpec(LINKS_LIFECYCLE_QUEUE, (USER_DELETED,), dead_letters=False),
        # What webhooks are made of (services/webhooks/catalog.py).
        QueueSpec(
            WEBHOOKS_QUEUE,
            (CLICK_RECORDED, LINK_CREATED, LINK_UPDATED, LINK_DELETED, LINK_EXPIRED, QUOTA_REACHED),
        ),
    )
}


def name(settings: Settings, local: str) -> str:
    """A namespaced exchange or queue name, e.g. ``sl.analytics.clicks``."""
    return settings.amqp_prefix + local


def dead_queue(queue: str) -> str:
    return queue + ".dead"


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


async def declare_dead_letter_exchange(
    channel: aio_pika.abc.AbstractChannel, settings: Settings
) -> aio_pika.abc.AbstractExchange:
    return await channel.declare_exchange(
        name(settings, DEAD_LETTER_EXCHANGE), aio_pika.ExchangeType.TOPIC, durable=True
    )


def queue_arguments(settings: Settings) -> Arguments:
    """The arguments every durable queue is declared with: ``x-queue-type:
    quorum`` with ``AMQP_QUORUM_QUEUES`` (a quorum queue must be durable and can
    be neither exclusive nor auto-delete: the replicas' own exclusive queues,
    like the gateway's, stay classic)."""
    if settings.amqp_quorum_queues:
        return {"x-queue-type": "quorum"}
    return None


@dataclass(frozen=True, slots=True)
class Declared:
    queue: aio_pika.abc.AbstractQueue
    dead_letters: aio_pika.abc.AbstractExchange


async def declare_queue(
    channel: aio_pika.abc.AbstractChannel, settings: Settings, queue: str
) -> Declared:
    """Declare the durable ``queue`` of :data:`QUEUES`, bound to its event types,
    and where it dead-letters: the ``events.dead`` exchange, under the queue's
    own name as routing key, into ``<queue>.dead``."""
    spec = QUEUES[queue]
    events = await declare_events_exchange(channel, settings)
    dead = await declare_dead_letter_exchange(channel, settings)
    arguments = queue_arguments(settings)
    if spec.dead_letters:
        parked = await channel.declare_queue(
            name(settings, dead_queue(queue)), durable=True, arguments=queue_arguments(settings)
        )
        await parked.bind(dead, routing_key=queue)
        arguments = {
            **(arguments or {}),
            "x-dead-letter-exchange": name(settings, DEAD_LETTER_EXCHANGE),
            "x-dead-letter-routing-key": queue,
        }
    declared = await channel.declare_queue(name(settings, queue), durable=True, arguments=arguments)
    for routing_key in spec.routing_keys:
        await declared.bind(events, routing_key=routing_key)
    return Declared(declared, dead)


async def declare_topology(channel: aio_pika.abc.AbstractChannel, settings: Settings) -> None:
    """Declare the exchanges and every durable queue of :data:`QUEUES`."""
    for queue in QUEUES:
        await declare_queue(channel, settings, queue)


async def queue_depths(
    connection: aio_pika.abc.AbstractConnection, settings: Settings
) -> dict[str, tuple[int, int] | None]:
    """Messages ready and consumers of each queue of :data:`QUEUES` (``None``: not
    declared yet), read with passive declares: a refused one closes only its channel."""
    depths: dict[str, tuple[int, int] | None] = {}
    for local_name in QUEUES:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(name(settings, local_name), passive=True)
        except aio_pika.exceptions.ChannelClosed:
            depths[local_name] = None
            continue
        result = queue.declaration_result
        depths[local_name] = (int(result.message_count or 0), int(result.consumer_count or 0))
        await channel.close()
    return depths


async def open_publisher(
    connection: aio_pika.abc.AbstractRobustConnection, settings: Settings
) -> EventPublisher:
    """A confirming publisher on its own channel, once every durable queue exists
    (a handful of idempotent declarations, once per connection)."""
    channel = await connection.channel(publisher_confirms=True)
    exchange = await declare_events_exchange(channel, settings)
    await declare_topology(channel, settings)
    return EventPublisher(exchange)


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
