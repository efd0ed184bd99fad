"""Scans of dynamic codes come from the analytics service: clicks of the backing
link, sent as ``click.recorded`` events with source ``qr`` as the edge sends them,
consumed by the real worker and counted by the real stats API."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from shared import amqp
from shared.events import CLICK_RECORDED, ClickRecorded, new_event
from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import LinksApi
from tests.qr.test_api import ZERO_STATS, add_qr, backing_link, details
from tests.support import principals

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def send_scans(
    settings: Settings, who: Principal, qr_id: int, link_id: int, alias: str, count: int
) -> None:
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
                        alias=alias,
                        host="_",
                        destination="https://example.com/menu",
                        source="qr",
                        qr_id=qr_id,
                        campaign_id=None,
                        ip=f"203.0.113.{n}",
                        user_agent=BROWSER,
                        referrer=None,
                        accept_language="fr-CA,fr;q=0.9",
                        country="CA",
                    ),
                )
                for n in range(count)
            )
        )
    finally:
        await connection.close()


async def scans_by_id(api: LinksApi, who: Principal) -> dict[int, int]:
    status, body = await api.call("GET", "/api/qr", who)
    assert status == 200
    return {item["id"]: item["scans"] for item in body["data"]["qrs"]}


async def test_scans_and_stats_of_a_dynamic_code_come_from_analytics(
    qr_with_analytics: LinksApi, pg_pool: asyncpg.Pool, settings: Settings
) -> None:
    api = qr_with_analytics
    alice = principals.user()
    dynamic = await add_qr(api, alice, type="link", data="https://example.com/menu")
    static = await add_qr(api, alice, type="text", data="not tracked")
    body = await details(api, alice, dynamic["id"])
    assert body["data"] is not None
    assert body["data"]["clicks"] == 0
    assert body["details"]["scans"] == 0

    link = await backing_link(pg_pool, dynamic["id"])
    assert link is not None
    await send_scans(settings, alice, dynamic["id"], link["id"], link["alias"], 3)
    async with asyncio.timeout(15):  # the worker consumes asynchronously
        while True:
            if (await scans_by_id(api, alice)).get(dynamic["id"]) == 3:
                break
            await asyncio.sleep(0.1)

    assert await scans_by_id(api, alice) == {dynamic["id"]: 3, static["id"]: 0}
    body = await details(api, alice, dynamic["id"])
    assert body["details"]["scans"] == 3
    stats: dict[str, Any] = body["data"]
    assert stats["clicks"] == 3
    assert stats["topCountries"] == {"Canada": 3}
    assert stats["topBrowsers"] == {"Firefox": 3}

    body = await details(api, alice, static["id"])
    assert body["details"]["scans"] == 0
    assert body["data"] == ZERO_STATS

    # Another user asking analytics through the QR API sees nothing of it.
    status, _ = await api.call("GET", f"/api/qr/{dynamic['id']}", principals.user())
    assert status == 404
