"""The fault suite's stack: private Postgres, Redis and RabbitMQ (own ports and
data directories, children of this test run: never the machine's shared
ones), every process of the project started against them, an admin, and a
user whose plan lets the probes call the API as often as they like."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import asyncpg
import pytest

from services.accounts.registration import register
from shared.migrations import migrate_all
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.e2e.conftest import add_user
from tests.faults.harness import FaultRow, table
from tests.support.api_calls import call
from tests.support.figures import report_figure
from tests.support.private_instances import PrivatePostgres, PrivateRabbitMQ, PrivateRedis
from tests.support.system import RunningSystem, with_free_ports

# Each click is flushed to the broker within this many seconds: the most an edge
# killed with SIGKILL can lose is what it buffered in that window.
FLUSH_INTERVAL = 0.05
# How long a process may take to answer /ready (a busy shared machine is slow).
STARTUP = 120.0


@dataclass
class Stack:
    postgres: PrivatePostgres
    redis: PrivateRedis
    rabbitmq: PrivateRabbitMQ
    system: RunningSystem
    pool: asyncpg.Pool
    key: str  # a user whose plan allows 100,000 calls a minute
    rows: list[FaultRow] = field(default_factory=list)

    @property
    def api(self) -> str:
        return self.system.gateway_url + "/api"

    @property
    def settings(self) -> Settings:
        return self.system.settings


def _missing() -> str | None:
    for name, instance in (
        ("a PostgreSQL server (initdb)", PrivatePostgres),
        ("redis-server", PrivateRedis),
        ("rabbitmq-server", PrivateRabbitMQ),
    ):
        if not instance.available():
            return name
    return None


@pytest.fixture(scope="module")
async def stack(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    missing = _missing()
    if missing:
        pytest.skip(f"the fault suite needs {missing} for a private instance")
    base = tmp_path_factory.mktemp("faults")
    postgres = PrivatePostgres(base / "postgres")
    redis = PrivateRedis(base / "redis")
    rabbitmq = PrivateRabbitMQ(base / "rabbitmq")
    started: list[PrivatePostgres | PrivateRedis | PrivateRabbitMQ] = []
    system: RunningSystem | None = None
    pool: asyncpg.Pool | None = None
    try:
        for instance in (postgres, redis, rabbitmq):
            await instance.start()
            started.append(instance)
        own = settings.with_overrides(
            database_url=postgres.server_url + "/shortener_faults",
            redis_url=redis.url,
            amqp_url=rabbitmq.url,
            redis_prefix="faults:",
            amqp_prefix="faults.",
            spool_dir=str(base / "spool"),
            click_flush_interval=FLUSH_INTERVAL,
        )
        await migrate_all(own.database_url)
        pool = await asyncpg.create_pool(own.database_url, min_size=1, max_size=2)
        system = RunningSystem(with_free_ports(own), log_dir=base)
        await system.start(within=STARTUP)
        key = await _user(system, pool)
        found = Stack(postgres, redis, rabbitmq, system, pool, key)
        yield found
        if found.rows:
            text = table(found.rows)
            (base / "faults.md").write_text(text + "\n")
            report_figure(request.config, "fault suite:\n" + text)
    finally:
        if system is not None:
            await system.stop()
        if pool is not None:
            await pool.close()
        for instance in reversed(started):
            await instance.stop()
        postgres.remove()


async def _user(system: RunningSystem, pool: asyncpg.Pool) -> str:
    tag = secrets.token_hex(4)
    async with pool.acquire() as conn, conn.transaction():
        admin = await register(
            conn,
            username=f"faultadmin{tag}",
            email=f"faultadmin{tag}@example.com",
            password_hash=await hash_password_async("admin-pass"),
            role="admin",
        )
    api = system.gateway_url + "/api"
    async with aiohttp.ClientSession() as http:
        status, plan, _ = await call(
            http,
            "POST",
            f"{api}/plan/add",
            admin.key.key,
            {
                "name": f"Faults {tag}",
                "free": True,
                "limits": {"links": 0, "clicks": 0, "retention": 0},
                "rate": {"capacity": 100_000, "window": 60},
            },
        )
        assert status == 200, plan
        return await add_user(http, api, admin.key.key, f"faults{tag}", plan["id"])
