"""The links API against the real analytics service: the stats API and its worker,
fed with ``click.recorded`` events through RabbitMQ as the edge would send them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared import amqp
from shared.events import CLICK_RECORDED, ClickRecorded, new_event
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi, StartLinks
from tests.support import principals

analytics_app = pytest.importorskip("services.analytics.app")
analytics_worker = pytest.importorskip("services.analytics.worker")

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
async def links_and_analytics(
    serve_app: ServeApp, settings: Settings, start_links: StartLinks
) -> LinksApi:
    await serve_app(analytics_worker.create_worker_app, settings)
    api = await serve_app(analytics_app.create_app, settings)
    return await start_links(analytics_url=str(api.make_url("")).rstrip("/"))


async def send_clicks(settings: Settings, who: Principal, link_ids: list[int]) -> None:
    connection = await amqp.connect(settings)
    try:
        publisher = await amqp.open_publisher(connection, settings)
        await publisher.publish(
            *(
                new_event(
                    CLICK_RECORDED,
                    ClickRecorded(
                        link_id=link_id,
                        owner_id=who.user_id,
                        alias="x",
                        host="_",
                        destination="https://example.com",
                        source="link",
                        qr_id=None,
                        campaign_id=None,
                        ip=f"203.0.113.{n}",
                        user_agent=BROWSER,
                        referrer="https://news.example.org/item",
                        accept_language="en-US,en;q=0.9",
                        country="CA",
                    ),
                )
                for n, link_id in enumerate(link_ids)
            )
        )
    finally:
        await connection.close()


async def clicks_by_id(links: LinksApi, who: Principal, query: str = "") -> list[tuple[int, int]]:
    status, body = await links.call("GET", f"/api/urls{query}", who)
    assert status == 200
    return [(u["id"], u["clicks"]) for u in body["data"]["urls"]]


async def test_clicks_stats_and_export_come_from_analytics(
    links_and_analytics: LinksApi, settings: Settings
) -> None:
    links = links_and_analytics
    alice = principals.user()
    a, b, c = [(await links.add(alice, url=f"https://example.com/{i}"))["id"] for i in range(3)]

    status, body = await links.call("GET", f"/api/url/{a}", alice)
    assert status == 200
    assert body["data"]["clicks"] == 0
    assert set(body["data"]) >= {"clicks", "uniqueClicks", "topCountries", "socialCount"}

    await send_clicks(settings, alice, [a, b, b, b])
    async with asyncio.timeout(15):  # the worker consumes asynchronously
        while True:
            if dict(await clicks_by_id(links, alice)).get(b) == 3:
                break
            await asyncio.sleep(0.1)

    assert await clicks_by_id(links, alice) == [(c, 0), (b, 3), (a, 1)]
    assert await clicks_by_id(links, alice, "?order=clicks") == [(b, 3), (a, 1), (c, 0)]

    status, body = await links.call("GET", f"/api/url/{b}", alice)
    assert status == 200
    stats: dict[str, Any] = body["data"]
    assert stats["clicks"] == 3
    assert stats["topCountries"] == {"Canada": 3}

    status, series = await links.call("GET", f"/api/url/{b}/stats?interval=day", alice)
    assert status == 200
    assert series["clicks"] == 3

    status, csv = await links.call("GET", f"/api/url/{b}/stats/export", alice)
    assert status == 200
    assert isinstance(csv, bytes)
    assert b"total" in csv

    bob = principals.user()
    status, _ = await links.call("GET", f"/api/url/{b}/stats", bob)
    assert status == 404
