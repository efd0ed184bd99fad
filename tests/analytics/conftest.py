"""Fixtures of the analytics tests: in-process workers, a publisher that
speaks like the edge, and the stats API behind a signing client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from services.analytics.app import create_app
from services.analytics.worker import create_worker_app
from shared import amqp
from shared.events import EventPublisher
from shared.settings import Settings
from tests.analytics.helpers import publish, wait_for_clicks
from tests.support.signed_client import SignedClient

StartWorker = Callable[..., Awaitable[web.Application]]


@pytest.fixture(scope="session")
def analytics_settings(settings: Settings) -> Settings:
    """Short batch waits so tests see their clicks quickly."""
    return settings.with_overrides(analytics_batch_wait=0.05, analytics_batch_size=500)


@pytest.fixture
async def start_worker(analytics_settings: Settings) -> AsyncIterator[StartWorker]:
    """Start workers in this process (each its own connections, as a replica would)."""
    runners: list[web.AppRunner] = []

    async def start(**overrides: Any) -> web.Application:
        app = create_worker_app(analytics_settings.with_overrides(**overrides))
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        return app

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def worker(start_worker: StartWorker) -> web.Application:
    return await start_worker()


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[EventPublisher]:
    """Publishes as the edge does (declaring the queues it publishes to first)."""
    connection = await amqp.connect(settings)
    try:
        yield await amqp.open_publisher(connection, settings)
    finally:
        await connection.close()


RecordClicks = Callable[[list[dict[str, Any]], dict[int, int]], Awaitable[None]]


@pytest.fixture
def record_clicks(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> RecordClicks:
    """``record_clicks(events, {link_id: clicks})``: publish the events as the edge does,
    then wait until the running worker has counted that many clicks of each link."""

    async def record(events: list[dict[str, Any]], counted: dict[int, int]) -> None:
        await publish(publisher, events)
        for link_id, clicks in counted.items():
            await wait_for_clicks(pg_pool, link_id, clicks)

    return record


@pytest.fixture
async def stats_api(
    serve_app: Callable[..., Awaitable[Any]], signed: Callable[[Any], SignedClient]
) -> SignedClient:
    return signed(await serve_app(create_app))
