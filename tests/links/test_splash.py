"""Custom splash pages (API.md section 5): the published list, add / update /
delete, validation, plan gates, ownership, and links of type ``splash-<id>``
whose snapshots carry the page."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import Invalidations, LinksApi, snapshot
from tests.support import principals

FULL: dict[str, Any] = {
    "name": "Product 1 Promo",
    "title": "Spring sale",
    "message": "Thirty percent off, this week only.",
    "image": "https://cdn.example.com/promo.png",
    "button_text": "Shop now",
    "button_url": "https://shop.example.com/sale",
    "delay": 12,
}


async def add_splash(links: LinksApi, who: Principal, **body: Any) -> int:
    status, answer = await links.call("POST", "/api/splash/add", who, body or FULL)
    assert status == 200, answer
    assert set(answer) == {"error", "id"}
    splash_id: int = answer["id"]
    return splash_id


async def splash_rows(pg_pool: asyncpg.Pool, who: Principal) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pg_pool.fetch(
        "SELECT * FROM links.splash_pages WHERE owner_id = $1 ORDER BY id", who.user_id
    )
    return rows


async def test_add_list_get_update_delete(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    first = await add_splash(links, alice)
    second = await add_splash(links, alice, name="Product 2 Promo")
    rows = await splash_rows(pg_pool, alice)
    date = {r["id"]: r["created_at"].strftime("%Y-%m-%d %H:%M:%S") for r in rows}
    assert rows[1]["delay"] == 5  # the default countdown

    status, body = await links.call("GET", "/api/splash?limit=2&page=1", alice)
    assert status == 200
    assert body == {
        "error": 0,
        "data": {
            "result": 2,
            "perpage": 2,
            "currentpage": 1,
            "nextpage": None,
            "maxpage": 1,
            "splash": [
                {"id": second, "name": "Product 2 Promo", "date": date[second]},
                {"id": first, "name": "Product 1 Promo", "date": date[first]},
            ],
        },
    }
    status, body = await links.call("GET", f"/api/splash/{first}", alice)
    assert status == 200
    assert body["data"] == {"id": first, **FULL, "date": date[first]}

    status, body = await links.call(
        "PUT", f"/api/splash/{first}/update", alice, {"title": "New", "image": None, "delay": 0}
    )
    assert (status, body) == (
        200,
        {"error": 0, "message": "Splash page has been updated successfully."},
    )
    row = (await splash_rows(pg_pool, alice))[0]
    assert (row["title"], row["image"], row["delay"], row["message"]) == (
        "New",
        None,
        0,
        FULL["message"],
    )

    status, body = await links.call("DELETE", f"/api/splash/{first}/delete", alice)
    assert (status, body) == (
        200,
        {"error": 0, "message": "Splash page has been deleted successfully."},
    )
    assert [r["id"] for r in await splash_rows(pg_pool, alice)] == [second]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": None}, "The field 'name' is required."),
        ({"name": ""}, "must not be empty"),
        ({"image": "https://cdn.example.com/promo.gif"}, "jpg or png"),
        ({"image": "javascript:alert(1)//x.png"}, "may not use the 'javascript:' scheme"),
        ({"image": "ftp://cdn.example.com/x.png"}, "http or https"),
        ({"button_url": "javascript:alert(1)"}, "may not use the 'javascript:' scheme"),
        ({"button_url": "data:text/html,<script>alert(1)</script>"}, "'data:' scheme"),
        ({"button_url": "java\tscript:alert(1)"}, "spaces or control characters"),
        ({"delay": 31}, "at most 30"),
        ({"delay": -1}, "at least 0"),
        ({"delay": "soon"}, "must be an integer"),
        ({"title": "x" * 201}, "at most 200"),
        ({"message": ["a"]}, "must be a string"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    links: LinksApi, pg_pool: asyncpg.Pool, change: dict[str, Any], message: str
) -> None:
    alice = principals.user()
    status, body = await links.call("POST", "/api/splash/add", alice, {**FULL, **change})
    assert status == 400, body
    assert message in body["message"]
    assert await splash_rows(pg_pool, alice) == []

    splash_id = await add_splash(links, alice)
    before = await splash_rows(pg_pool, alice)
    status, body = await links.call("PUT", f"/api/splash/{splash_id}/update", alice, change)
    assert status == 400
    assert await splash_rows(pg_pool, alice) == before


async def test_plan_gate_and_count(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    status, body = await links.call("POST", "/api/splash/add", starter, FULL)
    assert status == 403
    assert "'splash' feature" in body["message"]
    assert await splash_rows(pg_pool, starter) == []

    business = principals.user(principals.BUSINESS_LIMITS)  # splash.count = 5
    for _ in range(5):
        await add_splash(links, business)
    status, body = await links.call("POST", "/api/splash/add", business, FULL)
    assert status == 403
    assert "limit of 5 custom splash pages" in body["message"]
    assert len(await splash_rows(pg_pool, business)) == 5


async def test_another_users_splash_page_is_not_found(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice, bob = principals.user(), principals.user()
    splash_id = await add_splash(links, alice)
    before = await splash_rows(pg_pool, alice)
    for method, path, body in (
        ("GET", f"/api/splash/{splash_id}", None),
        ("PUT", f"/api/splash/{splash_id}/update", {"name": "mine"}),
        ("DELETE", f"/api/splash/{splash_id}/delete", None),
    ):
        status, answer = await links.call(method, path, bob, body)
        assert (status, answer) == (404, {"error": 1, "message": "Splash page not found."})
    assert await splash_rows(pg_pool, alice) == before

    status, answer = await links.call(
        "POST", "/api/url/add", bob, {"url": "https://example.com", "type": f"splash-{splash_id}"}
    )
    assert status == 404
    assert answer["message"] == (
        f"Splash page {splash_id} not found. Add it first with /api/splash/add."
    )
    count = await pg_pool.fetchval(
        "SELECT count(*) FROM links.links WHERE owner_id = $1", bob.user_id
    )
    assert count == 0


async def test_link_snapshots_carry_the_page_and_follow_changes(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    invalidations: Invalidations,
) -> None:
    alice = principals.user()
    splash_id = await add_splash(links, alice)
    alias = f"sp-{alice.user_id}"
    added = await links.add(
        alice, url="https://example.com/sp", custom=alias, type=f"splash-{splash_id}"
    )
    suffix = f"link:_:{alias}"
    snap = await snapshot(redis_client, settings, suffix)
    assert snap is not None
    assert snap["type"] == f"splash-{splash_id}"
    assert snap["splash"] == {k: v for k, v in FULL.items() if k != "name"}
    assert snap["overlay"] is None

    hostile = '<script>alert("x")</script>'
    status, _ = await links.call(
        "PUT", f"/api/splash/{splash_id}/update", alice, {"message": hostile, "delay": 3}
    )
    assert status == 200
    await invalidations.wait_for(suffix, times=2)
    snap = await snapshot(redis_client, settings, suffix)
    assert snap is not None
    assert (snap["splash"]["message"], snap["splash"]["delay"]) == (hostile, 3)

    # Deleted: the link falls back to the standard splash page.
    status, _ = await links.call("DELETE", f"/api/splash/{splash_id}/delete", alice)
    assert status == 200
    await invalidations.wait_for(suffix, times=3)
    snap = await snapshot(redis_client, settings, suffix)
    assert snap is not None
    assert (snap["type"], snap["splash"]) == ("splash", None)
    assert (await links.details(alice, added["id"]))["type"] == "splash"
