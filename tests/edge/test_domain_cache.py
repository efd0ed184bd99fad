"""How the edge finds the domain a visitor's Host names, and what it costs.

The public host and address literals are never looked up; an unknown Host is
looked up once and then remembered as unknown (for longer than a couple of
seconds, in a bounded cache of its own); while Postgres is down, cached links
and known misses are still answered. The figures come from the edge's own
``/metrics`` (what an operator watches); the outage is a private Postgres
really stopped."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from services.links.edge.app import create_app
from services.links.edge.keys import EDGE
from services.links.edge.visits import is_address
from shared.migrations import migrate_all
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, Client, MakeLink, new_alias, new_owner
from tests.support.ops import metrics_text
from tests.support.private_instances import PrivatePostgres

UA = {"User-Agent": BROWSER}


async def lookups(edge: Client) -> dict[str, float]:
    """``edge_snapshot_lookups_total`` by source, and the misses cached for domains."""
    text = await metrics_text(edge)
    found = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'edge_snapshot_lookups_total\{source="(\w+)"\} (\S+)', text)
    }
    cached = re.search(r"^edge_domain_misses_cached (\S+)$", text, re.M)
    found["domain_misses_cached"] = float(cached.group(1)) if cached else 0.0
    return found


async def visit(edge: Client, path: str, host: str) -> int:
    resp = await edge.get(path, allow_redirects=False, headers={**UA, "Host": host})
    await resp.read()
    return resp.status


def test_address_literals_are_recognised() -> None:
    for host in ("203.0.113.5", "203.0.113.5:8080", "[::1]", "[2001:db8::1]:443", "::1"):
        assert is_address(host), host
    for host in ("go.example.com", "go.example.com:8080", "localhost", "1.example"):
        assert not is_address(host), host


async def test_the_public_host_and_addresses_are_never_looked_up(
    edge: Client, make_link: MakeLink, edge_settings: Settings
) -> None:
    link = await make_link("https://example.com/by-address")
    public = edge_settings.public_host
    assert await visit(edge, link.path, public) == 302  # the link is now cached
    before = await lookups(edge)
    for host in (public, "127.0.0.1", "127.0.0.1:8080", "10.1.2.3:80", "[::1]:8080", "[::1]"):
        for _ in range(5):
            assert await visit(edge, link.path, host) == 302
    after = await lookups(edge)
    assert after["redis"] == before["redis"]
    assert after["postgres"] == before["postgres"]
    assert after["domain_misses_cached"] == before["domain_misses_cached"]


async def test_an_unknown_host_is_looked_up_once_then_remembered(
    edge: Client, make_link: MakeLink, edge_settings: Settings
) -> None:
    link = await make_link("https://example.com/unknown-host")
    assert await visit(edge, link.path, edge_settings.public_host) == 302
    before = await lookups(edge)
    stranger = f"lb-check-{secrets.token_hex(4)}.internal"
    statuses = [await visit(edge, link.path, stranger) for _ in range(50)]
    assert statuses == [302] * 50  # an unknown Host is the default domain
    after = await lookups(edge)
    assert after["postgres"] - before["postgres"] == 1  # the one domain lookup
    assert after["negative"] - before["negative"] == 49
    assert after["domain_misses_cached"] == before["domain_misses_cached"] + 1
    store = edge.app[EDGE].store
    entry = store.domains.misses.get(f"domain:{stranger}")
    assert entry is not None
    # Remembered for DOMAIN_MISS_TTL (a minute by default), not the 2 s of aliases.
    assert Settings().domain_miss_ttl > 2
    assert store.domains.miss_ttl == edge_settings.domain_miss_ttl


async def test_the_domain_miss_cache_is_bounded(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink
) -> None:
    edge = await serve_app(create_app, edge_settings.with_overrides(negative_cache_size=5))
    link = await make_link("https://example.com/bounded")
    for i in range(20):
        assert await visit(edge, link.path, f"junk-{i}-{secrets.token_hex(3)}.example") == 302
    assert (await lookups(edge))["domain_misses_cached"] == 5


async def test_a_domain_added_later_is_seen_at_once(
    edge: Client, make_link: MakeLink, pg_pool: asyncpg.Pool, edge_settings: Settings
) -> None:
    """A remembered miss is forgotten by the invalidation the links service sends."""
    host = f"late-{secrets.token_hex(4)}.example.com"
    link = await make_link("https://example.com/default")
    assert await visit(edge, link.path, host) == 302
    domain_id = await pg_pool.fetchval(
        "INSERT INTO links.domains (owner_id, host, verified_at) VALUES ($1, $2, now()) "
        "RETURNING id",
        new_owner(),
        host,
    )
    edge.app[EDGE].store.invalidate(f"domain:{host}")  # what the links service publishes
    branded = await make_link("https://example.com/branded", domain=(domain_id, host))
    assert await visit(edge, branded.path, host) == 302
    resp = await edge.get(branded.path, allow_redirects=False, headers={**UA, "Host": host})
    assert resp.headers["Location"] == "https://example.com/branded"


# -- while Postgres is down --------------------------------------------------------


@pytest.fixture
async def private_postgres(tmp_path: Path) -> AsyncIterator[PrivatePostgres]:
    if not PrivatePostgres.available():
        pytest.skip("needs a PostgreSQL server binary for a private instance")
    instance = PrivatePostgres(tmp_path / "pg")
    await instance.start()
    try:
        yield instance
    finally:
        await instance.stop()
        instance.remove()


async def test_cached_links_and_known_misses_survive_a_postgres_outage(
    serve_app: ServeApp, edge_settings: Settings, private_postgres: PrivatePostgres
) -> None:
    database = private_postgres.server_url + "/edge_outage"
    admin = await asyncpg.connect(private_postgres.server_url + "/postgres")
    await admin.execute("CREATE DATABASE edge_outage")
    await admin.close()
    await migrate_all(database)
    alias = new_alias()
    conn = await asyncpg.connect(database)
    await conn.execute(
        "INSERT INTO links.links (owner_id, alias, updated_at, long_url) VALUES ($1, $2, $3, $4)",
        new_owner(),
        alias,
        datetime.now().astimezone(),
        "https://example.com/outage",
    )
    await conn.close()
    # Misses expire at once here, so each visit after the outage starts asks again.
    settings = edge_settings.with_overrides(
        database_url=database,
        redis_prefix=f"{edge_settings.redis_prefix}outage{secrets.token_hex(3)}:",
        domain_miss_ttl=0.0,
        negative_cache_ttl=0.0,
    )
    edge = await serve_app(create_app, settings)
    stranger = f"stray-{secrets.token_hex(4)}.example"
    gone = new_alias()
    assert await visit(edge, f"/{alias}", settings.public_host) == 302
    assert await visit(edge, f"/{alias}", stranger) == 302  # the stranger is a known miss now
    assert await visit(edge, f"/{gone}", settings.public_host) == 404  # and so is this alias

    await private_postgres.stop()
    statuses = [await visit(edge, f"/{alias}", stranger) for _ in range(20)]
    assert statuses == [302] * 20  # cached link, known-miss host: no 503
    assert [await visit(edge, f"/{gone}", settings.public_host) for _ in range(5)] == [404] * 5
    # A Host never seen before cannot be told apart from a branded domain: honest 503.
    assert await visit(edge, f"/{alias}", f"new-{secrets.token_hex(4)}.example") == 503
    assert (await lookups(edge))["stale_negative"] >= 1
    ready = await edge.get("/ready")
    assert ready.status == 200  # it serves, so it stays in rotation
