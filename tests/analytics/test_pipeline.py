"""From the edge's publish to the stats the links service reads.

Events are published exactly as the edge does (``shared.amqp.open_publisher``
and ``EventPublisher.publish_raw`` with a JSON array of event dicts per
message); the worker runs as it does in production; the numbers are read back
through the stats API. (The end-to-end test through the gateway and the edge
lives with the system tests.)"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from shared import amqp
from shared.events import CLICK_RECORDED, new_event
from shared.identity import SERVICE
from shared.settings import Settings
from tests.analytics.helpers import (
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    GOOGLEBOT,
    SAFARI_IPHONE,
    new_link_id,
)
from tests.support.principals import user
from tests.support.signed_client import SignedClient
from tests.support.waiting import eventually

VISITS: list[tuple[str, str, str | None, str | None, str]] = [
    # (ip, user agent, country from the edge, referrer, source)
    ("198.51.100.10", CHROME_WINDOWS, "US", "https://www.facebook.com/", "link"),
    ("198.51.100.10", CHROME_WINDOWS, "US", "https://www.facebook.com/", "link"),
    ("198.51.100.11", SAFARI_IPHONE, "GB", "https://t.co/xyz", "qr"),
    ("198.51.100.12", SAFARI_IPHONE, "GB", None, "qr"),
    ("2001:db8:1::7", FIREFOX_LINUX, None, "https://www.instagram.com/", "link"),
    ("198.51.100.13", CHROME_WINDOWS, "FR", "https://www.google.fr/", "rotator"),
    ("198.51.100.14", GOOGLEBOT, "US", None, "link"),
]


def edge_event(link_id: int, owner_id: int, visit: tuple[Any, ...]) -> dict[str, Any]:
    ip, user_agent, country, referrer, source = visit
    return new_event(
        CLICK_RECORDED,
        {
            "link_id": link_id,
            "owner_id": owner_id,
            "alias": "promo",
            "host": "localhost:8080",
            "destination": "https://example.com/",
            "source": source,
            "qr_id": 9 if source == "qr" else None,
            "campaign_id": 3 if source == "rotator" else None,
            "ip": ip,
            "user_agent": user_agent,
            "referrer": referrer,
            "accept_language": "en-GB,en;q=0.8",
            "country": country,
        },
    ).to_json()


async def test_clicks_published_by_the_edge_show_in_the_stats(
    worker: web.Application,
    settings: Settings,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
) -> None:
    owner = user()
    link, second = new_link_id(), new_link_id()
    connection = await amqp.connect(settings)
    try:
        publisher = await amqp.open_publisher(connection, settings)
        batch = [edge_event(link, owner.user_id, visit) for visit in VISITS]
        await publisher.publish_raw(CLICK_RECORDED, batch[:4])
        await publisher.publish_raw(CLICK_RECORDED, batch[4:])
        await publisher.publish_raw(CLICK_RECORDED, batch[:2])  # an edge retry
        # Published last: once it is counted, the worker has handled the rest.
        await publisher.publish_raw(CLICK_RECORDED, [edge_event(second, owner.user_id, VISITS[0])])
    finally:
        await connection.close()

    async def counted() -> bool:
        resp = await stats_api.post(
            "/internal/stats/counts", owner, json={"link_ids": [link, second]}
        )
        counts = (await resp.json())["counts"]
        return bool(counts == {str(link): 6, str(second): 1})

    await eventually(counted)

    resp = await stats_api.get(f"/internal/stats/links/{link}?owner={owner.user_id}", owner)
    assert await resp.json() == {
        "clicks": 6,
        "uniqueClicks": 5,
        "botClicks": 1,
        "topCountries": {"United Kingdom": 2, "United States": 2, "France": 1, "Unknown": 1},
        "topReferrers": {
            "facebook.com": 2,
            "Direct, email and other": 1,
            "google.fr": 1,
            "instagram.com": 1,
            "t.co": 1,
        },
        "topBrowsers": {"Chrome": 3, "Mobile Safari": 2, "Firefox": 1},
        "topOs": {"Windows 10": 3, "iOS": 2, "Linux": 1},
        "socialCount": {"facebook": 2, "twitter": 1, "instagram": 1, "linkedin": 0, "google": 1},
    }
    resp = await stats_api.get(f"/internal/stats/ranking?owner={owner.user_id}", SERVICE)
    assert await resp.json() == {"links": [[link, 6], [second, 1]]}
    resp = await stats_api.get(
        f"/internal/stats/links/{link}/series?owner={owner.user_id}&interval=day", owner
    )
    series = await resp.json()
    assert (series["clicks"], series["uniqueClicks"], series["botClicks"]) == (6, 5, 1)
    assert series["series"][-1]["clicks"] == 6
    resp = await stats_api.get(f"/internal/usage/{owner.user_id}", owner)
    assert await resp.json() == {"clicks_this_month": 7, "clicks_over_quota_this_month": 0}
    stored = await pg_pool.fetch(
        "SELECT DISTINCT language, device FROM analytics.clicks WHERE link_id = $1", link
    )
    assert {(r["language"], r["device"]) for r in stored} == {
        ("en", "Desktop"),
        ("en", "Mobile"),
        ("en", "Bot"),
    }
    sources = await pg_pool.fetch(
        "SELECT source, count(*) AS n FROM analytics.clicks WHERE link_id = $1 AND NOT is_bot "
        "GROUP BY source",
        link,
    )
    assert {r["source"]: r["n"] for r in sources} == {"link": 3, "qr": 2, "rotator": 1}
