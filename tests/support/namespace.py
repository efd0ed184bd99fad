"""A private namespace inside this test run: its own database, Redis prefix and
AMQP prefix, removed at the end.

For tests whose processes must not share state with the rest of the run: a
fuzzer that changes plans and deletes objects at random, or a "fresh install"
that needs a database without any user."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.migrations import migrate_all
from shared.settings import Settings
from tests.support.cleanup import drop_amqp_names, drop_database, drop_redis_keys


@asynccontextmanager
async def private_namespace(
    settings: Settings, tag: str, *, migrate: bool = True
) -> AsyncIterator[Settings]:
    """``settings`` moved to a new database (migrated unless ``migrate`` is false),
    Redis prefix and AMQP prefix, all named after ``tag``."""
    suffix = f"{tag}{secrets.token_hex(3)}"
    server, _, database = settings.database_url.rpartition("/")
    own = settings.with_overrides(
        database_url=f"{server}/{database}_{suffix}",
        redis_prefix=f"{settings.redis_prefix}{suffix}:",
        amqp_prefix=f"{settings.amqp_prefix}{suffix}.",
    )
    try:
        if migrate:
            await migrate_all(own.database_url)
        yield own
    finally:
        await drop_redis_keys(own)
        await drop_amqp_names(own)
        await drop_database(own.database_url)
