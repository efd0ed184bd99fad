"""Running the ``shortener`` command line as a user would: a real process, with
this test run's database, Redis and AMQP namespaces in its environment."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.accounts.registration import register
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.support.cli_runner import FIXTURES, Ran, run_cli

__all__ = ["FIXTURES", "MakeUser", "Ran", "Shortener", "failure_rows", "links_of"]


Shortener = Callable[..., Awaitable[Ran]]


@pytest.fixture
def shortener(settings: Settings) -> Shortener:
    async def run(*args: str, stdin: str = "") -> Ran:
        return await run_cli(settings, *args, stdin=stdin)

    return run


@dataclass
class User:
    id: int
    username: str
    key: str


MakeUser = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(pg_pool: asyncpg.Pool) -> MakeUser:
    """A user as ``POST /api/user/add`` makes them (role ``admin``: every feature, no quota)."""

    async def make(role: str = "user", plan_id: int | None = None) -> User:
        tag = secrets.token_hex(5)
        async with pg_pool.acquire() as conn, conn.transaction():
            made = await register(
                conn,
                username=f"cli{tag}",
                email=f"cli{tag}@example.com",
                password_hash=await hash_password_async("pass-123"),
                role=role,
                plan_id=plan_id,
            )
        return User(made.user["id"], made.user["username"], made.key.key)

    return make


async def links_of(pg_pool: asyncpg.Pool, user: User) -> list[dict[str, Any]]:
    rows = await pg_pool.fetch(
        """SELECT alias, long_url, title, tags, created_at, import_source
             FROM links.links WHERE owner_id = $1 ORDER BY id""",
        user.id,
    )
    return [dict(r) for r in rows]


def failure_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))[1:]
