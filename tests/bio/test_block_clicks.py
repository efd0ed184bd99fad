"""The worker counts a bio page's block clicks per block, exactly once each, and never
as views of the page; events without a block are views, as every event was before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.analytics.db import create_analytics_pool
from services.analytics.enrich import Enricher
from services.analytics.ingest import record_clicks
from services.analytics.stats import bio_block
from shared.events import decode_event, parse_click
from shared.settings import Settings
from tests.analytics.helpers import FIREFOX_LINUX, click_event, new_link_id
from tests.support.principals import user

CRAWLER = "Googlebot/2.1 (+http://www.google.com/bot.html)"


@pytest.fixture
async def analytics_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_analytics_pool(settings, application_name="test-bio", max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


def block_click(link_id: int, owner_id: int, block_id: int, **kwargs: Any) -> dict[str, Any]:
    event = click_event(link_id, owner_id, user_agent=FIREFOX_LINUX, **kwargs)
    event["payload"]["block_id"] = block_id
    return event


async def store(pool: asyncpg.Pool, events: list[dict[str, Any]]) -> None:
    enricher = Enricher("secret")
    clicks = []
    for raw in events:
        event = decode_event(raw)
        clicks.append(enricher.enrich(event, parse_click(event.payload)))
    async with pool.acquire() as conn, conn.transaction():
        await record_clicks(conn, clicks)


async def test_block_clicks_are_counted_per_block_once_and_are_not_views(
    analytics_pool: asyncpg.Pool,
) -> None:
    link_id, owner = new_link_id(), user().user_id
    views = [
        click_event(link_id, owner, user_agent=FIREFOX_LINUX, ip="8.8.8.8"),
        click_event(link_id, owner, user_agent=FIREFOX_LINUX, ip="8.8.4.4"),
    ]
    clicks = [block_click(link_id, owner, 5, ip="8.8.8.8") for _ in range(3)]
    bot = block_click(link_id, owner, 6, ip="8.8.8.8")
    bot["payload"]["user_agent"] = CRAWLER
    await store(analytics_pool, [*views, *clicks, bot])
    await store(analytics_pool, [clicks[0], views[1]])  # redelivered: counted before
    async with analytics_pool.acquire() as conn:
        figures = await bio_block(conn, link_id, owner, [5, 6, 7])
        stored = await conn.fetch(
            "SELECT block_id, count(*) FROM clicks WHERE link_id = $1 GROUP BY 1 ORDER BY 1",
            link_id,
        )
        other = await bio_block(conn, link_id, owner + 1, [5])
    assert figures["views"] == 2
    assert figures["uniqueViews"] == 2
    assert figures["botViews"] == 0  # a crawler's block click is no view either
    assert figures["blocks"] == {"5": 3, "6": 0, "7": 0}
    assert figures["countries"] == {"United States": 2}
    assert figures["devices"] == {"Desktop": 2}
    assert [tuple(r) for r in stored] == [(5, 3), (6, 1), (None, 2)]  # raw rows, once each
    assert other["views"] == 0  # another owner sees nothing
    assert other["blocks"] == {"5": 0}
