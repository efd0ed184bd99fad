"""The links API against the real analytics service: the stats API and its worker,
fed with ``click.recorded`` events through RabbitMQ as the edge would send them."""

from __future__ import annotations

from typing import Any

import pytest

from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi, StartLinks
from tests.support import principals
from tests.support.analytics_service import send_clicks, serve_analytics, visit
from tests.support.waiting import eventually


@pytest.fixture
async def links_and_analytics(
    serve_app: ServeApp, settings: Settings, start_links: StartLinks
) -> LinksApi:
    return await start_links(analytics_url=await serve_analytics(serve_app, settings))


async def send_link_clicks(settings: Settings, who: Principal, link_ids: list[int]) -> None:
    clicks = (
        visit(
            n,
            link_id,
            who.user_id,
            alias="x",
            destination="https://example.com",
            referrer="https://news.example.org/item",
            accept_language="en-US,en;q=0.9",
        )
        for n, link_id in enumerate(link_ids)
    )
    await send_clicks(settings, clicks)


async def clicks_by_id(links: LinksApi, who: Principal, query: str = "") -> list[tuple[int, int]]:
    body = await links.fetch(who, f"/api/urls{query}")
    return [(u["id"], u["clicks"]) for u in body["data"]["urls"]]


async def test_clicks_stats_and_export_come_from_analytics(
    links_and_analytics: LinksApi, settings: Settings
) -> None:
    links = links_and_analytics
    alice = principals.user()
    a, b, c = [(await links.add(alice, url=f"https://example.com/{i}"))["id"] for i in range(3)]

    body = await links.fetch(alice, f"/api/url/{a}")
    assert body["data"]["clicks"] == 0
    assert set(body["data"]) >= {"clicks", "uniqueClicks", "topCountries", "socialCount"}

    await send_link_clicks(settings, alice, [a, b, b, b])

    async def counted() -> bool:  # the worker consumes asynchronously
        return dict(await clicks_by_id(links, alice)).get(b) == 3

    await eventually(counted, within=15, every=0.1)

    assert await clicks_by_id(links, alice) == [(c, 0), (b, 3), (a, 1)]
    assert await clicks_by_id(links, alice, "?order=clicks") == [(b, 3), (a, 1), (c, 0)]

    body = await links.fetch(alice, f"/api/url/{b}")
    stats: dict[str, Any] = body["data"]
    assert stats["clicks"] == 3
    assert stats["topCountries"] == {"Canada": 3}

    series = await links.fetch(alice, f"/api/url/{b}/stats?interval=day")
    assert series["clicks"] == 3

    csv = await links.fetch(alice, f"/api/url/{b}/stats/export")
    assert isinstance(csv, bytes)
    assert b"total" in csv

    bob = principals.user()
    status, _ = await links.call("GET", f"/api/url/{b}/stats", bob)
    assert status == 404
