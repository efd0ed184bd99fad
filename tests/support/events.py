"""Publishing events through RabbitMQ as the services do."""

from __future__ import annotations

from shared import amqp
from shared.events import USER_DELETED, Event, UserDeleted, new_event
from shared.settings import Settings


async def publish_events(settings: Settings, *events: Event) -> None:
    """Publish ``events`` on the events exchange (confirmed), on a connection of their own."""
    connection = await amqp.connect(settings)
    try:
        publisher = await amqp.open_publisher(connection, settings)
        await publisher.publish(*events)
    finally:
        await connection.close()


async def publish_user_deleted(settings: Settings, *user_ids: int) -> None:
    """What accounts publishes when these users are deleted."""
    await publish_events(
        settings, *(new_event(USER_DELETED, UserDeleted(user_id=uid)) for uid in user_ids)
    )
