"""Finished days are folded into the all-time breakdowns exactly once, and
the stats read the same before and after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.analytics.db import create_analytics_pool
from services.analytics.enrich import Enricher
from services.analytics.ingest import record_clicks
from services.analytics.maintenance import fold_breakdowns
from services.analytics.stats import link_block
from shared.events import decode_event, parse_click
from shared.migrations import migrate_all
from shared.settings import Settings
from tests.analytics.helpers import FIREFOX_LINUX, click_event, new_link_id
from tests.support.cleanup import drop_database
from tests.support.principals import user


@pytest.fixture
async def fresh_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own: folding moves a watermark every test shares otherwise."""
    server, _, name = settings.database_url.rpartition("/")
    fresh = settings.with_overrides(database_url=f"{server}/{name}_fold")
    await migrate_all(fresh.database_url)
    pool = await create_analytics_pool(fresh, application_name="test-fold", max_size=2)
    try:
        yield pool
    finally:
        await pool.close()
        await drop_database(fresh.database_url)


async def store(pool: asyncpg.Pool, events: list[dict[str, object]]) -> None:
    enricher = Enricher("secret")
    clicks = []
    for raw in events:
        event = decode_event(raw)
        clicks.append(enricher.enrich(event, parse_click(event.payload)))
    async with pool.acquire() as conn, conn.transaction():
        await record_clicks(conn, clicks)


async def test_folding_days_keeps_every_number(fresh_pool: asyncpg.Pool) -> None:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    start = today.date() - timedelta(days=2)
    await fresh_pool.execute("UPDATE analytics.rollup_state SET folded_before = $1", start)
    owner, link = user(), new_link_id()
    events = [
        click_event(
            link, owner.user_id, ip="198.51.100.1", country="CA", at=today - timedelta(days=2)
        ),
        click_event(
            link, owner.user_id, ip="198.51.100.2", country="CA", at=today - timedelta(days=1)
        ),
        click_event(
            link,
            owner.user_id,
            ip="198.51.100.3",
            country="FR",
            user_agent=FIREFOX_LINUX,
            referrer="https://t.co/x",
            at=today,
        ),
    ]
    await store(fresh_pool, events)
    async with fresh_pool.acquire() as conn:
        before = await link_block(conn, link, owner.user_id)
    assert before["clicks"] == 3
    assert before["topCountries"] == {"Canada": 2, "France": 1}

    folded = await fold_breakdowns(fresh_pool, today.date())
    assert folded == [start, start + timedelta(days=1)]
    assert await fold_breakdowns(fresh_pool, today.date()) == []  # never twice
    assert await fresh_pool.fetchval("SELECT folded_before FROM analytics.rollup_state") == (
        today.date()
    )
    rows = await fresh_pool.fetch(
        "SELECT dim, value, clicks FROM analytics.link_dim_totals WHERE link_id = $1", link
    )
    assert {(r["dim"], r["value"]): r["clicks"] for r in rows if r["dim"] == "country"} == {
        ("country", "CA"): 2
    }
    async with fresh_pool.acquire() as conn:
        assert await link_block(conn, link, owner.user_id) == before

    # A late click of a folded day counts in the all-time rows at once.
    await store(
        fresh_pool,
        [
            click_event(
                link, owner.user_id, ip="198.51.100.9", country="JP", at=today - timedelta(days=2)
            )
        ],
    )
    async with fresh_pool.acquire() as conn:
        after = await link_block(conn, link, owner.user_id)
    assert after["clicks"] == 4
    assert after["topCountries"] == {"Canada": 2, "France": 1, "Japan": 1}
    assert after["socialCount"]["twitter"] == 1
