"""A self-hosted install starts with one plan that allows everything (issue 9
item 2): the seed's sample plans are in docs/plans.md, not in the database."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from services.accounts.plan_limits import FEATURES, canonical
from shared.migrations import SERVICE_MIGRATIONS, migrate_schema
from shared.settings import Settings
from tests.accounts.conftest import AccountsApi
from tests.support import principals
from tests.support.principals import STARTER_LIMITS, UNLIMITED_LIMITS

MIGRATIONS = SERVICE_MIGRATIONS["accounts"]
DEFAULT_PLAN = {"id": 1, "name": "Default", "free": True, "prices": None}


async def test_a_fresh_install_has_one_plan_allowing_everything(api: AccountsApi) -> None:
    admin = principals.admin()
    got = await api.call("GET", "/api/plan/1", admin)
    assert got.status == 200
    assert {k: got.body["data"][k] for k in ("id", "name", "free", "prices")} == DEFAULT_PLAN
    assert got.body["data"]["limits"] == UNLIMITED_LIMITS
    assert all(got.body["data"]["limits"][name] == 0 for name in ("links", "clicks", "retention"))
    # the seed's Business is gone (Starter became the default plan)
    assert (await api.call("GET", "/api/plan/2", admin)).status == 404
    listed = (await api.call("GET", "/api/plans", admin)).body["data"]
    assert not any(p["name"] in ("Starter", "Business") for p in listed)


def test_a_feature_added_later_is_on_in_an_unrestricted_plan_only() -> None:
    """Plans store their limits as they were: a flag added to FEATURES since is
    filled in as on for a plan that limits nothing, as off for any other."""
    stored_default: dict[str, Any] = {"links": 0, "clicks": 0, "retention": 0}
    stored_default |= {name: {"enabled": "1", "count": "0"} for name in list(FEATURES)[:5]}
    filled = canonical(stored_default)
    assert all(filled[name]["enabled"] == "1" for name in FEATURES)
    assert filled == UNLIMITED_LIMITS
    # one quota, or one feature off, and missing features stay off
    for change in (
        {"links": 50},
        {"custom": {"enabled": "0"}},
        {"team": {"enabled": "1", "count": "3"}},
    ):
        limited = canonical({**stored_default, **change})
        assert limited["api"] == {"enabled": "0"}, change
    # the migration's stored JSON reads as every feature on, whatever FEATURES holds now
    assert canonical(migration_all_features()) == UNLIMITED_LIMITS


def migration_all_features() -> dict[str, Any]:
    sql = (MIGRATIONS / "0004_default_plan.sql").read_text()
    literal = sql.split("all_features constant jsonb := '", 1)[1].split("';", 1)[0]
    parsed: dict[str, Any] = orjson.loads(literal)
    return parsed


@pytest.fixture
async def scratch(settings: Settings) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A connection and a schema of its own to run the accounts migrations in."""
    schema = "accmig_" + "".join(secrets.choice("abcdefghij") for _ in range(8))
    conn = await asyncpg.connect(settings.database_url)
    try:
        yield conn, schema
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


async def migrate_up_to(
    conn: asyncpg.Connection, schema: str, tmp_path: Path, last: int
) -> list[str]:
    """Apply the real accounts migrations numbered up to ``last``."""
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if int(path.name[:4]) <= last:
            shutil.copy(path, tmp_path / path.name)
    return await migrate_schema(conn, schema, tmp_path)


async def plans_of(conn: asyncpg.Connection, schema: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT id, name, free, limits FROM {schema}.plans ORDER BY id")
    return [{**dict(r), "limits": orjson.loads(r["limits"])} for r in rows]


async def test_migration_on_an_empty_database(
    scratch: tuple[asyncpg.Connection, str], tmp_path: Path
) -> None:
    conn, schema = scratch
    applied = await migrate_up_to(conn, schema, tmp_path, 4)
    assert applied[-1] == f"{schema}/0004_default_plan"
    plans = await plans_of(conn, schema)
    assert [(p["id"], p["name"], p["free"]) for p in plans] == [(1, "Default", True)]
    assert canonical(plans[0]["limits"]) == UNLIMITED_LIMITS
    # the next plan an admin adds does not reuse Business's id
    assert (
        await conn.fetchval(f"SELECT nextval(pg_get_serial_sequence('{schema}.plans', 'id'))") == 3
    )


async def test_migration_moves_an_untouched_install_and_tells_the_others(
    scratch: tuple[asyncpg.Connection, str], tmp_path: Path
) -> None:
    """An install from before: its users are on the sample Starter; they end up on
    the default plan, and analytics and the gateway are told (through the outbox)."""
    conn, schema = scratch
    await migrate_up_to(conn, schema, tmp_path, 3)
    await conn.execute(
        f"INSERT INTO {schema}.users (username, email, password_hash, api_secret) "
        "VALUES ('old', 'old@example.com', 'x', 's')"
    )
    await migrate_up_to(conn, schema, tmp_path, 4)
    assert [p["name"] for p in await plans_of(conn, schema)] == ["Default"]
    assert await conn.fetchval(f"SELECT plan_id FROM {schema}.users") == 1
    staged = await conn.fetch(f"SELECT type, event FROM {schema}.outbox")
    assert [r["type"] for r in staged] == ["plan.changed"]
    event = orjson.loads(staged[0]["event"])
    assert set(event) == {"id", "type", "occurred_at", "payload"}
    assert event["payload"]["plan_id"] == 1
    assert event["payload"]["user_id"] is None
    assert canonical(event["payload"]["limits"]) == UNLIMITED_LIMITS


@pytest.mark.parametrize(
    "admin_change",
    [
        "UPDATE {s}.plans SET limits = limits || '{{\"links\": 25}}' WHERE id = 1",
        "UPDATE {s}.plans SET name = 'Pro' WHERE id = 2",
        "UPDATE {s}.plans SET rate_capacity = 100 WHERE id = 1",
        "INSERT INTO {s}.plans (name, limits) VALUES ('Team', '{{}}')",
        "INSERT INTO {s}.users (username, email, password_hash, api_secret, plan_id) "
        "VALUES ('paying', 'paying@example.com', 'x', 's', 2)",
    ],
)
async def test_migration_keeps_what_an_admin_made(
    scratch: tuple[asyncpg.Connection, str], tmp_path: Path, admin_change: str
) -> None:
    conn, schema = scratch
    await migrate_up_to(conn, schema, tmp_path, 3)
    await conn.execute(admin_change.format(s=schema))
    before = await plans_of(conn, schema)
    assert await migrate_up_to(conn, schema, tmp_path, 4) == [f"{schema}/0004_default_plan"]
    assert await plans_of(conn, schema) == before
    assert before[0]["name"] == "Starter"
    assert canonical(before[0]["limits"])["api"] == STARTER_LIMITS["api"]
    assert await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox") == 0
