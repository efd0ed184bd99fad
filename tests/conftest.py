"""Every test run gets its own database, Redis key prefix and AMQP names, and
removes them when it ends. Tests talk to the real Postgres, Redis and RabbitMQ."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared.migrations import migrate_all
from shared.postgres import create_pool
from shared.settings import Settings
from tests.support.cleanup import drop_amqp_names, drop_database, drop_redis_keys
from tests.support.figures import figures
from tests.support.signed_client import SignedClient

RUN_ID = secrets.token_hex(4)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster tests, then the fault suite, run after everything else (each
    starts a dozen processes, takes backends down, if only its own, and takes a
    few minutes)."""
    order = {"cluster": 1, "faults": 2}
    items.sort(
        key=lambda item: max(
            (rank for name, rank in order.items() if item.get_closest_marker(name)), default=0
        )
    )


@pytest.fixture(scope="session")
async def settings(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    base = Settings.from_env()
    server, _, _ = base.database_url.rpartition("/")
    run_settings = base.with_overrides(
        database_url=f"{server}/sl_test_{RUN_ID}",
        redis_prefix=f"t{RUN_ID}:",
        amqp_prefix=f"t{RUN_ID}.",
        internal_secret=secrets.token_hex(16),
        dev_mode=True,
        spool_dir=str(tmp_path_factory.mktemp("spool")),
        allow_private_fetch=True,
        domain_verification=False,  # the tests of verification turn it on
        log_format="text",
    )
    await migrate_all(run_settings.database_url)
    try:
        yield run_settings
    finally:
        await drop_redis_keys(run_settings)
        await drop_amqp_names(run_settings)
        await drop_database(run_settings.database_url)


@pytest.fixture(scope="session")
async def pg_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings.database_url, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
async def links_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the links schema, as the links service and the edge have (their SQL
    names its tables unqualified)."""
    pool = await create_pool(
        settings.database_url, min_size=1, max_size=2, server_settings={"search_path": "links"}
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


AppFactory = Callable[[Settings], web.Application]
ServeApp = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def serve_app(settings: Settings) -> AsyncIterator[ServeApp]:
    """Start ``factory(settings)`` on a real port; returns its test client."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def start(
        factory: AppFactory, settings_override: Settings | None = None
    ) -> TestClient[web.Request, web.Application]:
        app = factory(settings_override or settings)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


@pytest.fixture
def signed(
    settings: Settings,
) -> Callable[[TestClient[web.Request, web.Application]], SignedClient]:
    """Wrap a service's test client so each request carries a gateway signature."""

    def wrap(client: TestClient[web.Request, web.Application]) -> SignedClient:
        return SignedClient(client, settings.internal_secret)

    return wrap


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """What tests measured (tests/support/figures.py), after the run's own summary."""
    measured = figures(config)
    if measured:
        terminalreporter.section("figures")
        for text in measured:
            terminalreporter.write_line(text)
