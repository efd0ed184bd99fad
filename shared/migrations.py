"""Schema migrations: ordered ``NNNN_name.sql`` files per service schema.

Each service owns one Postgres schema and a ``migrations/`` folder. Applied
versions are recorded in ``<schema>.schema_migrations`` with a checksum (an
applied file that changed is an error, not a silent drift); an advisory lock
per schema makes two replicas starting at once apply each file exactly once;
re-running is a no-op. ``python -m shared.migrations`` migrates every service.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
SERVICE_MIGRATIONS: dict[str, Path] = {
    "accounts": ROOT / "services" / "accounts" / "migrations",
    "links": ROOT / "services" / "links" / "migrations",
    "analytics": ROOT / "services" / "analytics" / "migrations",
    "webhooks": ROOT / "services" / "webhooks" / "migrations",
}
_FILE_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two migrations share a version number")
    return found


async def migrate_schema(conn: asyncpg.Connection, schema: str, directory: Path) -> list[str]:
    """Apply the pending migrations of one schema; returns the names applied."""
    if not re.fullmatch(r"[a-z_]+", schema):
        raise MigrationError(f"bad schema name {schema!r}")
    migrations = load_migrations(directory)
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrations:{schema}")
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch(f"SELECT version, name, checksum FROM {schema}.schema_migrations")
        applied = {r["version"]: r for r in rows}
        for migration in migrations:
            done = applied.get(migration.version)
            if done is not None:
                if done["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{schema}/{migration.name}: already applied, but the file has changed "
                        "since; add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}, public")
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (version, name, checksum) "
                    "VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied_now.append(f"{schema}/{migration.name}")
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrations:{schema}")
    return applied_now


async def ensure_database(dsn: str) -> bool:
    """Create the database named in ``dsn`` if it does not exist; True if it was created."""
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    base, _, dbname = dsn.rpartition("/")
    dbname = dbname.split("?", 1)[0]
    if not re.fullmatch(r"[A-Za-z0-9_]+", dbname):
        raise MigrationError(f"refusing to create database with name {dbname!r}")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{dbname}"')
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await admin.close()
    return True


async def migrate_all(dsn: str, services: dict[str, Path] | None = None) -> list[str]:
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        applied: list[str] = []
        for schema, directory in (services or SERVICE_MIGRATIONS).items():
            applied += await migrate_schema(conn, schema, directory)
        return applied
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    from shared.settings import Settings

    parser = argparse.ArgumentParser(description="Apply every service's pending migrations.")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    dsn = args.database_url or Settings.from_env().database_url
    try:
        applied = asyncio.run(migrate_all(dsn))
    except (OSError, asyncpg.PostgresError, MigrationError) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    for item in applied:
        print(f"applied {item}")
    print(f"migrations up to date ({len(applied)} applied now)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
