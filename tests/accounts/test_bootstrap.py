"""The first start: one admin on an empty database, nothing on the next runs."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.accounts.bootstrap import ensure_admin
from shared.migrations import migrate_all
from shared.passwords import verify_password
from shared.settings import Settings
from tests.accounts.conftest import EventTap, StartAccounts
from tests.support.cleanup import drop_database
from tests.support.principals import UNLIMITED_LIMITS
from tests.support.service_client import closed_port
from tests.support.system import ROOT, settings_env


@pytest.fixture
async def empty_db(settings: Settings) -> AsyncIterator[Settings]:
    """This run's settings on a database of its own, migrated and without users."""
    server, _, name = settings.database_url.rpartition("/")
    dsn = f"{server}/{name}_boot_{secrets.token_hex(3)}"
    await migrate_all(dsn)
    try:
        yield settings.with_overrides(database_url=dsn)
    finally:
        await drop_database(dsn)


async def test_creates_one_admin_then_nothing(
    empty_db: Settings, start_accounts: StartAccounts, events: EventTap
) -> None:
    creds = await ensure_admin(empty_db)
    assert creds is not None
    assert (creds.username, creds.email) == ("admin", "admin@localhost.localdomain")
    assert len(creds.password) >= 16
    assert await ensure_admin(empty_db) is None

    conn = await asyncpg.connect(empty_db.database_url)
    try:
        rows = await conn.fetch("SELECT id, role, password_hash FROM accounts.users")
    finally:
        await conn.close()
    assert [(r["id"], r["role"]) for r in rows] == [(creds.user_id, "admin")]
    assert verify_password(creds.password, rows[0]["password_hash"])

    api = await start_accounts(database_url=empty_db.database_url)
    resolved = (await api.resolve(creds.api_key)).body
    assert (resolved["user_id"], resolved["role"]) == (creds.user_id, "admin")
    # the install's one plan, every feature on with no quota
    assert resolved["limits"] == UNLIMITED_LIMITS
    event = await events.wait_for("plan.changed", user_id=creds.user_id)
    assert event["payload"] == {
        "plan_id": 1,
        "user_id": creds.user_id,
        "limits": UNLIMITED_LIMITS,
        "role": "admin",  # the worker never limits an admin's clicks
    }


async def test_concurrent_bootstraps_make_one_admin(empty_db: Settings) -> None:
    results = await asyncio.gather(*(ensure_admin(empty_db) for _ in range(3)))
    assert sum(r is not None for r in results) == 1
    conn = await asyncpg.connect(empty_db.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM accounts.users") == 1
    finally:
        await conn.close()


async def test_works_without_the_broker(empty_db: Settings) -> None:
    down = empty_db.with_overrides(amqp_url=f"amqp://guest:guest@127.0.0.1:{closed_port()}/")
    assert await ensure_admin(down) is not None


async def run_cli(settings: Settings) -> tuple[int, str, str]:
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.accounts.bootstrap",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_command_prints_the_key_once(empty_db: Settings) -> None:
    code, out, _ = await run_cli(empty_db)
    assert code == 0
    key_line = next(line for line in out.splitlines() if "API key:" in line)
    key = key_line.split("API key:")[1].strip()
    assert "password:" in out
    assert (
        f'curl -H "Authorization: Bearer {key}" '
        f"http://localhost:{empty_db.gateway_port}/api/account"
    ) in out
    code, out, _ = await run_cli(empty_db)
    assert (code, out) == (0, "")


async def test_command_explains_an_unreachable_database(settings: Settings) -> None:
    down = settings.with_overrides(
        database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/nothing"
    )
    code, _, err = await run_cli(down)
    assert code == 1
    assert "cannot use PostgreSQL at postgresql://postgres@127.0.0.1:" in err
    assert "Traceback" not in err
