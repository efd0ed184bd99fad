"""The real processes, started once per test, in this run's namespaces."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.accounts.registration import register
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.support.api_calls import call
from tests.support.system import RunningSystem, with_free_ports

COUNTRY_HEADER = "CF-IPCountry"


@pytest.fixture
def e2e_settings(settings: Settings) -> Settings:
    """The namespace the processes run in: this run's, unless a test module gives
    its own (``tests.support.namespace.private_namespace``)."""
    return settings


@pytest.fixture
async def system(e2e_settings: Settings, tmp_path: Path) -> AsyncIterator[RunningSystem]:
    settings = e2e_settings
    # Its own Redis namespace (inside this run's): other suites' failed logins from
    # 127.0.0.1 must not count against this test's client. Its own AMQP names too:
    # publishers declare the durable queues, which hold what the other suites
    # published; these processes must not start by working through all of it.
    tag = secrets.token_hex(3)
    own = settings.with_overrides(
        redis_prefix=f"{settings.redis_prefix}e2e{tag}:",
        amqp_prefix=f"{settings.amqp_prefix}e2e{tag}.",
        trusted_country_header=COUNTRY_HEADER,
        click_flush_interval=0.05,
    )
    running = RunningSystem(with_free_ports(own), log_dir=tmp_path)
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def admin_key(e2e_settings: Settings) -> str:
    """An admin made as the bootstrap would (the test database already has users)."""
    tag = secrets.token_hex(5)
    conn = await asyncpg.connect(e2e_settings.database_url)
    try:
        async with conn.transaction():
            made = await register(
                conn,
                username=f"e2eadmin{tag}",
                email=f"e2eadmin{tag}@example.com",
                password_hash=await hash_password_async("admin-pass"),
                role="admin",
            )
    finally:
        await conn.close()
    return made.key.key


async def add_user(
    http: aiohttp.ClientSession, api: str, admin_key: str, username: str, plan_id: int
) -> str:
    """A user on ``plan_id``, added through the gateway as an admin would; their API key."""
    status, body, _ = await call(
        http,
        "POST",
        f"{api}/user/add",
        admin_key,
        {
            "username": username,
            "email": f"{username}@example.com",
            "password": "pass-123",
            "planid": plan_id,
        },
    )
    assert status == 200, body
    key: str = body["data"]["apikey"]
    return key
