"""Tags: many per link, set on add and update, shown in link answers, a list
filter, counts per tag, and never shared between users."""

from __future__ import annotations

import asyncpg

from tests.links.conftest import LinksApi
from tests.support import principals


async def test_tags_on_add_and_update_are_normalised_and_shown(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    link = await links.add(alice, url="https://example.com/a", tags=[" Spring ", "email", "SPRING"])
    assert (await links.details(alice, link["id"]))["tags"] == ["spring", "email"]
    listed = await links.fetch(alice, "/api/urls")
    assert listed["data"]["urls"][0]["tags"] == ["spring", "email"]

    await links.call("PUT", f"/api/url/{link['id']}/update", alice, {"title": "kept"})
    assert (await links.details(alice, link["id"]))["tags"] == ["spring", "email"]
    await links.call("PUT", f"/api/url/{link['id']}/update", alice, {"tags": "summer, q3 promo"})
    assert (await links.details(alice, link["id"]))["tags"] == ["summer", "q3 promo"]
    await links.call("PUT", f"/api/url/{link['id']}/update", alice, {"tags": None})
    assert (await links.details(alice, link["id"]))["tags"] == []


async def test_bad_tags_are_refused_and_nothing_changes(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    link = await links.add(alice, url="https://example.com/a", tags=["keep"])
    for bad in (["x" * 51], [""], [1], {"a": 1}, [f"t{i}" for i in range(21)], ["a\x01b"]):
        message = await links.refused(alice, "url", {"url": "https://e.com", "tags": bad})
        assert message.startswith("The field 'tags' must hold at most 20 tags"), message
        await links.refused(alice, "url", {"tags": bad}, item_id=link["id"])
    rows = await pg_pool.fetch("SELECT tags FROM links.links WHERE owner_id = $1", alice.user_id)
    assert [r["tags"] for r in rows] == [["keep"]]


async def test_list_filter_and_counts_per_user(links: LinksApi) -> None:
    alice, bob = principals.user(), principals.user()
    a1 = await links.add(alice, url="https://example.com/1", tags=["spring", "email"])
    a2 = await links.add(alice, url="https://example.com/2", tags=["spring"])
    await links.add(alice, url="https://example.com/3")
    await links.add(bob, url="https://example.com/b", tags=["spring", "bobs-only"])

    spring = await links.fetch(alice, "/api/urls?tag=Spring")
    assert [u["id"] for u in spring["data"]["urls"]] == [a2["id"], a1["id"]]
    assert spring["data"]["result"] == 2
    email = await links.fetch(alice, "/api/urls?tag=email&q=example.com/1")
    assert [u["id"] for u in email["data"]["urls"]] == [a1["id"]]
    assert (await links.fetch(alice, "/api/urls?tag=bobs-only"))["data"]["urls"] == []

    tags = await links.fetch(alice, "/api/tags")
    assert tags["data"]["tags"] == [{"name": "spring", "links": 2}, {"name": "email", "links": 1}]
    assert tags["data"]["result"] == 2
    assert (await links.fetch(bob, "/api/tags"))["data"]["tags"] == [
        {"name": "bobs-only", "links": 1},
        {"name": "spring", "links": 1},
    ]
    paged = await links.fetch(alice, "/api/tags?limit=1&page=2")
    assert paged["data"]["tags"] == [{"name": "email", "links": 1}]

    status, body = await links.call("GET", "/api/urls?tag=" + "x" * 51, alice)
    assert status == 400
    assert body["message"].startswith("The field 'tag' must hold")
