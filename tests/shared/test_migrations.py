"""The migration runner: ordered, recorded with checksums, safe to run twice or at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from shared.migrations import MigrationError, migrate_schema
from shared.settings import Settings


def write(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql)


@asynccontextmanager
async def migrating(settings: Settings, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to migrate ``schema`` on; the schema is dropped afterwards."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        yield conn
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def test_applies_in_order_once_and_records_versions(
    settings: Settings, tmp_path: Path
) -> None:
    write(tmp_path, "0001_create.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    write(tmp_path, "0002_fill.sql", "INSERT INTO things VALUES (1), (2);")
    async with migrating(settings, "mig_order") as conn:
        assert await migrate_schema(conn, "mig_order", tmp_path) == [
            "mig_order/0001_create",
            "mig_order/0002_fill",
        ]
        assert await migrate_schema(conn, "mig_order", tmp_path) == []
        assert await conn.fetchval("SELECT count(*) FROM mig_order.things") == 2
        versions = await conn.fetch("SELECT version FROM mig_order.schema_migrations ORDER BY 1")
        assert [r["version"] for r in versions] == [1, 2]


async def test_edited_applied_migration_is_refused(settings: Settings, tmp_path: Path) -> None:
    write(tmp_path, "0001_create.sql", "CREATE TABLE t (id int);")
    async with migrating(settings, "mig_edit") as conn:
        await migrate_schema(conn, "mig_edit", tmp_path)
        write(tmp_path, "0001_create.sql", "CREATE TABLE t (id bigint);")
        with pytest.raises(MigrationError, match="has changed"):
            await migrate_schema(conn, "mig_edit", tmp_path)


async def test_failed_migration_leaves_nothing_half_applied(
    settings: Settings, tmp_path: Path
) -> None:
    write(tmp_path, "0001_bad.sql", "CREATE TABLE ok_part (id int); SELECT 1/0;")
    async with migrating(settings, "mig_bad") as conn:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate_schema(conn, "mig_bad", tmp_path)
        assert await conn.fetchval("SELECT to_regclass('mig_bad.ok_part')") is None
        assert await conn.fetchval("SELECT count(*) FROM mig_bad.schema_migrations") == 0


async def test_two_replicas_migrating_at_once_apply_each_file_once(
    settings: Settings, tmp_path: Path
) -> None:
    write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE once (id int);")
    conns = [await asyncpg.connect(settings.database_url) for _ in range(2)]
    try:
        results = await asyncio.gather(*(migrate_schema(c, "mig_race", tmp_path) for c in conns))
        assert sorted(len(r) for r in results) == [0, 1]
    finally:
        await conns[0].execute("DROP SCHEMA mig_race CASCADE")
        for c in conns:
            await c.close()


async def test_service_schemas_are_migrated(pg_pool: asyncpg.Pool) -> None:
    schemas = {r["nspname"] for r in await pg_pool.fetch("SELECT nspname FROM pg_namespace")}
    assert {"accounts", "links", "analytics"} <= schemas
