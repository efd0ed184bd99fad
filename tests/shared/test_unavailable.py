"""A request that finds a dependency down answers the contract's 503, with
``Retry-After``; the outage is logged once when it starts and once when it
ends, never per request, and counted per dependency. Every failure here is
real: a closed port, a pool with no free connection, a private Redis stopped
and started again."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.amqp import connect
from shared.appkeys import REDIS
from shared.dependencies import DEPENDENCIES, DependencyMonitor, RetryingLoopLog, classify
from shared.envelope import ok
from shared.logs import OneLine
from shared.postgres import create_pool
from shared.service import create_service_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.private_instances import PrivateRedis
from tests.support.signed_client import SignedClient
from tests.support.system import free_port
from tests.support.waiting import eventually

UNAVAILABLE = {"error": 1, "message": "Service unavailable. Please retry later."}


def closed_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    return free_port()


def failing_app(settings: Settings) -> web.Application:
    """Routes that each meet one unavailable dependency for real."""
    app = create_service_app(settings, name="deps", needs=())

    async def postgres_refused(request: web.Request) -> web.Response:
        pool = await create_pool(f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
        await pool.close()
        return ok()

    async def postgres_pool_exhausted(request: web.Request) -> web.Response:
        pool = await create_pool(settings.database_url, min_size=1, max_size=1)
        try:
            async with pool.acquire(), pool.acquire(timeout=0.2):
                return ok()
        finally:
            await pool.close()

    async def redis_refused(request: web.Request) -> web.Response:
        client = aioredis.Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0")
        try:
            await client.get("anything")
        finally:
            await client.aclose()
        return ok()

    async def broker_refused(request: web.Request) -> web.Response:
        url = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
        connection = await connect(settings.with_overrides(amqp_url=url))
        await connection.close()
        return ok()

    async def own_bug(request: web.Request) -> web.Response:
        await asyncio.to_thread(Path("/nonexistent/file").read_bytes)  # an OSError of ours
        return ok()

    for path, handler in (
        ("/api/postgres-refused", postgres_refused),
        ("/api/postgres-exhausted", postgres_pool_exhausted),
        ("/api/redis-refused", redis_refused),
        ("/api/broker-refused", broker_refused),
        ("/api/bug", own_bug),
    ):
        app.router.add_get(path, handler)
    return app


@pytest.fixture
async def failing(serve_app: ServeApp) -> TestClient[web.Request, web.Application]:
    return await serve_app(failing_app)


async def metric(client: TestClient[web.Request, web.Application], line_start: str) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize(
    ("path", "dependency"),
    [
        ("/api/postgres-refused", "postgres"),
        ("/api/postgres-exhausted", "postgres"),
        ("/api/redis-refused", "redis"),
        ("/api/broker-refused", "rabbitmq"),
    ],
)
async def test_an_unreachable_dependency_answers_503_in_the_envelope(
    failing: TestClient[web.Request, web.Application],
    settings: Settings,
    path: str,
    dependency: str,
) -> None:
    api = SignedClient(failing, settings.internal_secret)
    resp = await api.get(path, principals.user())
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert await resp.json() == UNAVAILABLE
    counted = f'dependency_unavailable_answers_total{{dependency="{dependency}"}}'
    assert await metric(failing, counted) == 1.0


async def test_a_bug_is_still_a_500(
    failing: TestClient[web.Request, web.Application], settings: Settings
) -> None:
    api = SignedClient(failing, settings.internal_secret)
    resp = await api.get("/api/bug", principals.user())
    assert resp.status == 500
    assert await resp.json() == {"error": 1, "message": "Internal server error."}


async def test_a_pool_acquire_timeout_is_classified_as_postgres(settings: Settings) -> None:
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire():
            with pytest.raises(TimeoutError) as caught:
                await pool.acquire(timeout=0.1)
    finally:
        await pool.close()
    assert classify(caught.value) == "postgres"
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
    assert classify(refused.value) == "postgres"
    # A transaction whose connection went away under it (the server shut down).
    conn = await asyncpg.connect(settings.database_url)
    transaction = conn.transaction()
    await transaction.start()
    await conn.close()
    with pytest.raises(asyncpg.InterfaceError, match="connection is closed") as closed:
        await transaction.rollback()
    assert classify(closed.value) == "postgres"
    assert classify(ValueError("bad input")) is None


async def test_a_retrying_loop_says_an_outage_once_each_way_and_a_bug_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop_log = RetryingLoopLog(logging.getLogger("tests.retrying_loop"))
    caplog.set_level(logging.WARNING, logger="tests.retrying_loop")
    for _ in range(50):  # a loop retrying every 0.1 s through a 5 s outage
        with pytest.raises(ConnectionRefusedError) as refused:
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
        loop_log.failed("claiming due deliveries", refused.value)
    loop_log.succeeded()
    loop_log.succeeded()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("postgres unavailable (ConnectionRefusedError")
    assert "claiming due deliveries waits until it is back" in lines[0]
    assert lines[1].startswith("postgres available again after")
    caplog.clear()
    for _ in range(3):
        loop_log.failed("making click batches", ValueError("a bug"))
    assert [r.exc_info is not None for r in caplog.records] == [True, True, True]


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    if not PrivateRedis.available():
        pytest.skip("needs redis-server for a private instance")
    instance = PrivateRedis(tmp_path / "redis")
    await instance.start()
    try:
        yield instance
    finally:
        await instance.stop()


def redis_app(settings: Settings) -> web.Application:
    app = create_service_app(settings, name="cache", needs=("redis",))

    async def read(request: web.Request) -> web.Response:
        value = await request.app[REDIS].get(settings.redis_prefix + "k")
        return ok(found=value is not None)

    app.router.add_get("/api/read", read)
    return app


async def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    serve_app: ServeApp,
    settings: Settings,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await serve_app(redis_app, settings.with_overrides(redis_url=private_redis.url))
    api = SignedClient(client, settings.internal_secret)
    user = principals.user()
    assert (await api.get("/api/read", user)).status == 200
    health = await (await client.get("/health")).json()
    assert health["dependencies"] == {"redis": "up"}

    caplog.set_level(logging.INFO, logger="shared.dependencies")
    await private_redis.stop()
    statuses = [(await api.get("/api/read", user)).status for _ in range(20)]
    assert statuses == [503] * 20
    down_lines = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(down_lines) == 1
    assert await metric(client, 'dependency_unavailable_answers_total{dependency="redis"}') == 20
    assert await metric(client, 'dependency_up{dependency="redis"}') == 0.0
    # Down is a detail of /health, not a failure of liveness or readiness.
    health_resp = await client.get("/health")
    assert health_resp.status == 200
    assert (await health_resp.json())["dependencies"] == {"redis": "down"}
    assert (await client.get("/ready")).status == 200

    await private_redis.start()
    monitor = client.app[DEPENDENCIES]
    await eventually(lambda: _is_up(monitor, "redis"), within=10)
    assert (await api.get("/api/read", user)).status == 200
    up_lines = [r for r in caplog.records if "redis available again" in r.getMessage()]
    assert len(up_lines) == 1
    assert len([r for r in caplog.records if "redis unavailable" in r.getMessage()]) == 1
    assert await metric(client, 'dependency_up{dependency="redis"}') == 1.0


async def _is_up(monitor: DependencyMonitor, name: str) -> bool:
    return not monitor.is_down(name)


def test_a_library_retry_warning_is_one_line_without_its_traceback() -> None:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError:
        record = logging.LogRecord(
            "asyncpg.pool",
            logging.WARNING,
            __file__,
            1,
            "Failed to restore %s",
            ("floor",),
            sys.exc_info(),
        )
    assert OneLine().filter(record)
    assert record.exc_info is None
    assert record.getMessage() == (
        "Failed to restore floor (ConnectionRefusedError: [Errno 111] Connection refused)"
    )
