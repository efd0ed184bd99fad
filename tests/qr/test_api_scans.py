"""Scans of dynamic codes come from the analytics service: clicks of the backing
link, sent as ``click.recorded`` events with source ``qr`` as the edge sends them,
consumed by the real worker and counted by the real stats API."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import LinksApi
from tests.qr.test_api import add_dynamic, details
from tests.support import principals
from tests.support.analytics_service import ZERO_STATS, send_clicks, visit
from tests.support.waiting import eventually


async def send_scans(
    settings: Settings, who: Principal, qr_id: int, link_id: int, alias: str, count: int
) -> None:
    scans = (
        visit(
            n,
            link_id,
            who.user_id,
            alias=alias,
            destination="https://example.com/menu",
            accept_language="fr-CA,fr;q=0.9",
            source="qr",
            qr_id=qr_id,
        )
        for n in range(count)
    )
    await send_clicks(settings, scans)


async def scans_by_id(api: LinksApi, who: Principal) -> dict[int, int]:
    status, body = await api.call("GET", "/api/qr", who)
    assert status == 200
    return {item["id"]: item["scans"] for item in body["data"]["qrs"]}


async def test_scans_and_stats_of_a_dynamic_code_come_from_analytics(
    qr_with_analytics: LinksApi, pg_pool: asyncpg.Pool, settings: Settings
) -> None:
    api = qr_with_analytics
    alice = principals.user()
    dynamic, _, link = await add_dynamic(api, pg_pool, alice, "https://example.com/menu")
    static = await api.added(alice, "qr", type="text", data="not tracked")
    body = await details(api, alice, dynamic["id"])
    assert body["data"] is not None
    assert body["data"]["clicks"] == 0
    assert body["details"]["scans"] == 0

    await send_scans(settings, alice, dynamic["id"], link["id"], link["alias"], 3)

    async def counted() -> bool:  # the worker consumes asynchronously
        return (await scans_by_id(api, alice)).get(dynamic["id"]) == 3

    await eventually(counted, within=15, every=0.1)

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
