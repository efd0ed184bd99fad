"""Custom splash pages (API.md section 5): the published list, add / update /
delete, validation, plan gates, ownership, and links of type ``splash-<id>``
whose snapshots carry the page."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.links.conftest import (
    Invalidations,
    LinksApi,
    assert_refused_on_add_and_update,
    only_page,
    owned_rows,
    published_dates,
)
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


splash_rows = owned_rows("splash")


async def test_add_list_get_update_delete(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    first = await links.create(alice, "splash", **FULL)
    second = await links.create(alice, "splash", name="Product 2 Promo")
    rows = await splash_rows(pg_pool, alice)
    date = published_dates(rows)
    assert rows[1]["delay"] == 5  # the default countdown

    body = await links.fetch(alice, "/api/splash?limit=2&page=1")
    assert body == only_page(
        "splash",
        [
            {"id": second, "name": "Product 2 Promo", "date": date[second]},
            {"id": first, "name": "Product 1 Promo", "date": date[first]},
        ],
    )
    body = await links.fetch(alice, f"/api/splash/{first}")
    assert body["data"] == {"id": first, **FULL, "date": date[first]}

    await links.assert_updated(alice, "splash", first, {"title": "New", "image": None, "delay": 0})
    row = (await splash_rows(pg_pool, alice))[0]
    assert (row["title"], row["image"], row["delay"], row["message"]) == (
        "New",
        None,
        0,
        FULL["message"],
    )

    await links.assert_deleted(alice, "splash", first)
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
    await assert_refused_on_add_and_update(links, pg_pool, "splash", FULL, change, message)


async def test_another_users_splash_page_is_not_found(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice, bob = principals.user(), principals.user()
    splash_id = await links.create(alice, "splash", **FULL)
    before = await splash_rows(pg_pool, alice)
    await links.assert_not_found(bob, "splash", splash_id)
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
    links: LinksApi, invalidations: Invalidations
) -> None:
    alice = principals.user()
    splash_id = await links.create(alice, "splash", **FULL)
    alias = f"sp-{alice.user_id}"
    added = await links.add(
        alice, url="https://example.com/sp", custom=alias, type=f"splash-{splash_id}"
    )
    suffix = f"link:_:{alias}"
    snap = await invalidations.snapshot_after(suffix)
    assert snap["type"] == f"splash-{splash_id}"
    assert snap["splash"] == {k: v for k, v in FULL.items() if k != "name"}
    assert snap["overlay"] is None

    hostile = '<script>alert("x")</script>'
    await links.assert_updated(alice, "splash", splash_id, {"message": hostile, "delay": 3})
    snap = await invalidations.snapshot_after(suffix, times=2)
    assert (snap["splash"]["message"], snap["splash"]["delay"]) == (hostile, 3)

    # Deleted: the link falls back to the standard splash page.
    await links.assert_deleted(alice, "splash", splash_id)
    snap = await invalidations.snapshot_after(suffix, times=3)
    assert (snap["type"], snap["splash"]) == ("splash", None)
    assert (await links.details(alice, added["id"]))["type"] == "splash"
