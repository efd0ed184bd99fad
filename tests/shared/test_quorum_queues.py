"""``AMQP_QUORUM_QUEUES=1``: every durable queue of the topology (and its
dead-letter queue) is declared as a RabbitMQ quorum queue, wherever it is
declared (publishers and consumers share shared/amqp.py); off, they are
classic queues, as every existing deployment has them."""

from __future__ import annotations

import secrets

import aio_pika
import pytest

from shared import amqp
from shared.settings import Settings
from tests.support.queue_types import available, queue_types


def namespace(settings: Settings, *, quorum: bool) -> Settings:
    return settings.with_overrides(
        amqp_prefix=f"{settings.amqp_prefix}q{secrets.token_hex(3)}.",
        amqp_quorum_queues=quorum,
    )


def durable_names(settings: Settings) -> set[str]:
    names = {amqp.name(settings, q) for q in amqp.QUEUES}
    names |= {
        amqp.name(settings, amqp.dead_queue(q))
        for q, spec in amqp.QUEUES.items()
        if spec.dead_letters
    }
    return names


async def declare_as_a_publisher_does(settings: Settings) -> None:
    connection = await amqp.connect(settings)
    try:
        await amqp.open_publisher(connection, settings)
    finally:
        await connection.close()


needs_rabbitmqctl = pytest.mark.skipif(not available(), reason="rabbitmqctl lists queue types")


@needs_rabbitmqctl
@pytest.mark.parametrize(("quorum", "kind"), [(True, "quorum"), (False, "classic")])
async def test_every_durable_queue_has_the_configured_type(
    settings: Settings, quorum: bool, kind: str
) -> None:
    own = namespace(settings, quorum=quorum)
    await declare_as_a_publisher_does(own)
    assert await queue_types(own) == dict.fromkeys(durable_names(own), kind)


async def test_a_quorum_queue_refuses_to_be_redeclared_as_classic(settings: Settings) -> None:
    """Without any management tool: the broker holds the queue to its type (what
    an operator meets when switching an existing deployment: a new AMQP_PREFIX)."""
    own = namespace(settings, quorum=True)
    await declare_as_a_publisher_does(own)
    connection = await aio_pika.connect(own.amqp_url)
    try:
        channel = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="x-queue-type"):
            await channel.declare_queue(
                amqp.name(own, amqp.dead_queue(amqp.CLICKS_QUEUE)),
                durable=True,
                arguments={"x-queue-type": "classic"},
            )
    finally:
        await connection.close()
    # Declared again with the setting on, as every process does after a reconnect: fine.
    await declare_as_a_publisher_does(own)


def test_the_setting_is_read_from_the_environment() -> None:
    assert Settings.from_env({"AMQP_QUORUM_QUEUES": "1"}).amqp_quorum_queues
    assert not Settings.from_env({}).amqp_quorum_queues
