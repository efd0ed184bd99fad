"""The edge's RabbitMQ connection, opened in the background: the edge serves
visitors whether or not the broker is up, and spools clicks while it is not."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from typing import Final

import aio_pika

from shared.amqp import connect, open_publisher
from shared.events import CLICK_RECORDED, EventPublisher
from shared.settings import Settings

log = logging.getLogger("edge.broker")

PUBLISH_TIMEOUT: Final = 5.0  # a confirm slower than this: spool the batch instead
CONNECT_TIMEOUT: Final = 10.0
RETRY_MIN, RETRY_MAX = 0.5, 10.0


class BrokerUnavailable(ConnectionError):
    pass


class Broker:
    """Connects (and keeps retrying) in a background task; ``publish`` raises
    :class:`BrokerUnavailable` at once while there is no usable connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.publisher: EventPublisher | None = None
        self.became_ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        conn = self.connection
        return (
            self.publisher is not None
            and conn is not None
            and not conn.is_closed
            and conn.connected.is_set()
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name="edge-broker-connect")

    async def _connect_loop(self) -> None:
        delay = RETRY_MIN
        warned = False
        while True:
            connection: aio_pika.abc.AbstractRobustConnection | None = None
            try:
                connection = await asyncio.wait_for(connect(self.settings), CONNECT_TIMEOUT)
                self.publisher = await asyncio.wait_for(
                    open_publisher(connection, self.settings), CONNECT_TIMEOUT
                )
                self.connection = connection
                self.became_ready.set()
                log.info("connected to the broker")
                return  # the robust connection reconnects by itself from now on
            except asyncio.CancelledError:
                if connection is not None:
                    with suppress(Exception):
                        await connection.close()
                raise
            except Exception as exc:
                if connection is not None:
                    with suppress(Exception):
                        await connection.close()
                if not warned:
                    log.warning("broker unreachable (%s); clicks are spooled until it is back", exc)
                    warned = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def publish(self, body: bytes) -> None:
        """Publish one batch (a JSON array of ``click.recorded`` events, already
        encoded) as one persistent message and wait for the broker's confirm;
        the message is what :meth:`shared.events.EventPublisher.publish_raw` sends."""
        publisher = self.publisher
        if publisher is None or not self.ready:
            raise BrokerUnavailable("no broker connection")
        message = aio_pika.Message(
            body=body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=uuid.uuid4().hex,
            type=CLICK_RECORDED,
        )
        await asyncio.wait_for(
            publisher.exchange.publish(message, routing_key=CLICK_RECORDED, mandatory=False),
            PUBLISH_TIMEOUT,
        )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None:
            with suppress(Exception):
                await self.connection.close()
