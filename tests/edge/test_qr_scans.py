"""Scanning a dynamic code: its tracking URL on the edge redirects to the code's
current data, and each scan is a click event with source ``qr``."""

from __future__ import annotations

import asyncpg

from tests.edge.conftest import BROWSER, IPHONE, ClickQueue, Client, within
from tests.links.conftest import LinksApi
from tests.support import principals


async def test_a_scan_redirects_to_the_current_data_and_is_a_qr_click(
    edge: Client, qr_api: LinksApi, clicks: ClickQueue, pg_pool: asyncpg.Pool
) -> None:
    who = principals.user()
    status, answer = await qr_api.call(
        "POST", "/api/qr/add", who, {"type": "link", "data": "https://example.com/menu"}
    )
    assert status == 200
    qr_id, alias = answer["id"], answer["link"].rsplit("/", 1)[1]

    scan = await edge.get(f"/{alias}", headers={"User-Agent": IPHONE}, allow_redirects=False)
    assert scan.status == 302
    assert scan.headers["Location"] == "https://example.com/menu"

    events = await clicks.wait_for(await backing_link_id(pg_pool, qr_id), 1)
    assert len(events) == 1
    payload = events[0]["payload"]
    assert payload["source"] == "qr"
    assert payload["qr_id"] == qr_id
    assert payload["owner_id"] == who.user_id
    assert payload["alias"] == alias
    assert payload["destination"] == "https://example.com/menu"

    # New data: the printed code now leads elsewhere.
    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{qr_id}/update", who, {"data": "https://example.com/new-menu"}
    )
    assert status == 200

    async def location() -> str | None:
        resp = await edge.get(f"/{alias}", headers={"User-Agent": BROWSER}, allow_redirects=False)
        return resp.headers.get("Location")

    assert await within(1.0, location, "https://example.com/new-menu")
    events = await clicks.wait_for(await backing_link_id(pg_pool, qr_id), 2)
    assert all(e["payload"]["source"] == "qr" for e in events)
    assert all(e["payload"]["qr_id"] == qr_id for e in events)

    # Deleted: the tracking URL stops resolving at once.
    status, _ = await qr_api.call("DELETE", f"/api/qr/{qr_id}/delete", who)
    assert status == 200

    async def gone() -> int:
        return (await edge.get(f"/{alias}", allow_redirects=False)).status

    assert await within(1.0, gone, 404)


async def test_an_ordinary_link_is_still_a_link_click(
    edge: Client, qr_api: LinksApi, clicks: ClickQueue
) -> None:
    who = principals.user()
    added = await qr_api.add(who, url="https://example.com/plain")
    alias = added["shorturl"].rsplit("/", 1)[1]
    resp = await edge.get(f"/{alias}", headers={"User-Agent": BROWSER}, allow_redirects=False)
    assert resp.status == 302
    events = await clicks.wait_for(added["id"], 1)
    assert events[0]["payload"]["source"] == "link"
    assert events[0]["payload"]["qr_id"] is None


async def backing_link_id(pg_pool: asyncpg.Pool, qr_id: int) -> int:
    link_id: int = await pg_pool.fetchval("SELECT link_id FROM links.qr_codes WHERE id = $1", qr_id)
    return link_id
