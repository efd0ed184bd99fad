"""The broker topology is declared by publishers too: an event published before
its consumer ever started waits in its queue, and is handled once the consumer
starts (the first admin's plan, announced by accounts at the first start,
before the analytics worker had run)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest
from aiohttp import web

from services.analytics.worker import create_worker_app
from shared import amqp
from shared.events import PLAN_CHANGED, Event, PlanChanged, new_event
from shared.settings import Settings
from tests.analytics.helpers import click_event, new_link_id, wait_for_clicks
from tests.support.events import publish_events
from tests.support.principals import STARTER_LIMITS, user
from tests.support.waiting import eventually


@pytest.fixture
def fresh(settings: Settings) -> Settings:
    """Names no process of this run has declared yet (under the run's prefix, so
    they are removed with the run's)."""
    return settings.with_overrides(
        amqp_prefix=f"{settings.amqp_prefix}fresh{secrets.token_hex(3)}.",
        analytics_batch_wait=0.05,
    )


async def queue_depths(settings: Settings) -> dict[str, int]:
    """Messages waiting in each durable queue (a passive look: it creates nothing)."""
    depths: dict[str, int] = {}
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        for queue in amqp.QUEUES:
            declared = await channel.declare_queue(amqp.name(settings, queue), passive=True)
            depths[queue] = declared.declaration_result.message_count or 0
    finally:
        await connection.close()
    return depths


@pytest.fixture
async def start_worker(fresh: Settings) -> AsyncIterator[web.AppRunner]:
    runner = web.AppRunner(create_worker_app(fresh))
    try:
        yield runner
    finally:
        await runner.cleanup()


async def test_events_published_before_any_consumer_ran_are_handled_when_it_starts(
    fresh: Settings, start_worker: web.AppRunner, pg_pool: asyncpg.Pool
) -> None:
    admin, link = user(role="admin"), new_link_id()
    plan: Event = new_event(
        PLAN_CHANGED,
        PlanChanged(plan_id=1, user_id=admin.user_id, limits=STARTER_LIMITS, role="admin"),
    )
    # Published the way accounts and the edge do, with no consumer ever started.
    await publish_events(fresh, plan)
    connection = await amqp.connect(fresh)
    try:
        publisher = await amqp.open_publisher(connection, fresh)
        await publisher.publish_raw("click.recorded", [click_event(link, admin.user_id)])
    finally:
        await connection.close()
    assert (await queue_depths(fresh))[amqp.LIFECYCLE_QUEUE] == 1

    await start_worker.setup()  # the worker starts only now

    async def plan_applied() -> bool:
        role = await pg_pool.fetchval(
            "SELECT role FROM analytics.user_plans WHERE user_id = $1", admin.user_id
        )
        return bool(role == "admin")

    await eventually(plan_applied)
    await wait_for_clicks(pg_pool, link, 1)


async def test_a_publisher_declares_every_durable_queue_with_its_bindings(
    fresh: Settings,
) -> None:
    event_types = {key for spec in amqp.QUEUES.values() for key in spec.routing_keys}
    connection = await amqp.connect(fresh)
    try:
        publisher = await amqp.open_publisher(connection, fresh)
        for routing_key in sorted(event_types):
            await publisher.publish_raw(routing_key, [])
    finally:
        await connection.close()
    # Each queue holds one message per event type it takes.
    assert await queue_depths(fresh) == {
        queue: len(spec.routing_keys) for queue, spec in amqp.QUEUES.items()
    }
