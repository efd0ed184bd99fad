"""The analytics queues, declared by whoever consumes them (re-declared after
every reconnect by aio-pika's robust channel).

``analytics.clicks`` takes ``click.recorded``; ``analytics.lifecycle`` takes
``link.deleted``, ``user.deleted`` and ``plan.changed``. Each dead-letters to
the ``events.dead`` exchange under its own name as routing key, into
``analytics.clicks.dead`` / ``analytics.lifecycle.dead``, where poison messages
stay visible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import aio_pika

from shared.amqp import DEAD_LETTER_EXCHANGE, declare_events_exchange, name
from shared.events import CLICK_RECORDED, LINK_DELETED, PLAN_CHANGED, USER_DELETED
from shared.settings import Settings

CLICKS_QUEUE: Final = "analytics.clicks"
LIFECYCLE_QUEUE: Final = "analytics.lifecycle"
ROUTING: Final[dict[str, tuple[str, ...]]] = {
    CLICKS_QUEUE: (CLICK_RECORDED,),
    LIFECYCLE_QUEUE: (LINK_DELETED, USER_DELETED, PLAN_CHANGED),
}


def dead_queue(queue: str) -> str:
    return queue + ".dead"


async def declare_dead_letter_exchange(
    channel: aio_pika.abc.AbstractChannel, settings: Settings
) -> aio_pika.abc.AbstractExchange:
    return await channel.declare_exchange(
        name(settings, DEAD_LETTER_EXCHANGE), aio_pika.ExchangeType.TOPIC, durable=True
    )


@dataclass(frozen=True, slots=True)
class Declared:
    queue: aio_pika.abc.AbstractQueue
    dead_letters: aio_pika.abc.AbstractExchange


async def declare_queue(
    channel: aio_pika.abc.AbstractChannel, settings: Settings, queue: str
) -> Declared:
    """Declare ``queue`` (durable, bound to its event types) and its dead-letter queue."""
    events = await declare_events_exchange(channel, settings)
    dead = await declare_dead_letter_exchange(channel, settings)
    parked = await channel.declare_queue(name(settings, dead_queue(queue)), durable=True)
    await parked.bind(dead, routing_key=queue)
    declared = await channel.declare_queue(
        name(settings, queue),
        durable=True,
        arguments={
            "x-dead-letter-exchange": name(settings, DEAD_LETTER_EXCHANGE),
            "x-dead-letter-routing-key": queue,
        },
    )
    for routing_key in ROUTING[queue]:
        await declared.bind(events, routing_key=routing_key)
    return Declared(declared, dead)
