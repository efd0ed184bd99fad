"""POST /api/urls/bulk: a result per item, items independent, quotas exact
(also under concurrency), imports idempotent by source."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from services.links.snapshot import link_key_suffix
from tests.links.conftest import Invalidations, LinksApi
from tests.support import principals

QUOTA_MESSAGE = "You have reached your plan's limit of 10 links (the 'links' limit)."


def ten_links() -> dict[str, Any]:
    """Every feature on, and a quota of 10 links."""
    return {**principals.UNLIMITED_LIMITS, "links": 10}


async def owned(pg_pool: asyncpg.Pool, user_id: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pg_pool.fetch(
        "SELECT * FROM links.links WHERE owner_id = $1 ORDER BY id", user_id
    )
    return rows


async def bulk(links: LinksApi, who: Any, items: list[Any]) -> dict[str, Any]:
    status, body = await links.call("POST", "/api/urls/bulk", who, {"urls": items})
    assert status == 200, body
    assert body["error"] == 0
    assert [r["index"] for r in body["results"]] == list(range(len(items)))
    result: dict[str, Any] = body
    return result


async def test_partial_failures_each_get_the_url_add_message(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    await links.add(alice, url="https://example.com/taken", custom="taken-alias")
    starter = principals.user(principals.STARTER_LIMITS)
    items: list[Any] = [
        {"url": "https://example.com/a", "title": "A", "tags": ["Spring", "email"]},
        {"url": "javascript:alert(1)"},
        "not an object",
        {"url": "https://example.com/b", "custom": "taken-alias"},
        {"url": "https://example.com/c", "custom": "twice-here"},
        {"url": "https://example.com/d", "custom": "twice-here"},
        {"url": "https://example.com/e", "pixels": [987654321]},
        {"title": "no url"},
        {"url": "https://example.com/f", "custom": "api"},
    ]
    body = await bulk(links, alice, items)
    results = body["results"]
    assert (body["created"], body["failed"], body["existing"]) == (2, 7, 0)
    assert results[0]["error"] == 0
    assert results[4] == {
        "index": 4,
        "error": 0,
        "id": results[4]["id"],
        "shorturl": f"{links.settings.public_base_url}/twice-here",
    }
    # Each refusal is the message url/add gives for the same parameters.
    for index in (1, 3, 5, 6, 7, 8):
        status, single = await links.call("POST", "/api/url/add", alice, items[index])
        assert status >= 400
        assert results[index] == {"index": index, "error": 1, "message": single["message"]}
    assert results[2]["message"].startswith("Each item must be a JSON object")
    # The same plan gate as url/add: a custom alias on a plan without aliases.
    gated = await bulk(links, starter, [{"url": "https://example.com/x", "custom": "mine-x"}])
    assert gated["results"][0]["message"] == (
        "Your plan does not include custom aliases (the 'alias' feature)."
    )
    assert await owned(pg_pool, starter.user_id) == []

    rows = await owned(pg_pool, alice.user_id)
    assert [r["long_url"] for r in rows] == [
        "https://example.com/taken",
        "https://example.com/a",
        "https://example.com/c",
    ]
    assert rows[1]["title"] == "A"
    assert rows[1]["tags"] == ["spring", "email"]
    assert rows[1]["id"] == results[0]["id"]
    details = await links.details(alice, results[0]["id"])
    assert details["tags"] == ["spring", "email"]


async def test_malformed_requests_are_refused_whole(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    for body, message in (
        ({}, "The field 'urls' is required."),
        ({"urls": "x"}, "The field 'urls' must be an array."),
        ({"urls": []}, "The field 'urls' must hold 1 to 1000 links."),
        (
            {"urls": [{"url": "https://example.com"}] * 1001},
            "The field 'urls' may hold at most 1000 items.",
        ),
    ):
        status, answer = await links.call("POST", "/api/urls/bulk", alice, body)
        assert (status, answer) == (400, {"error": 1, "message": message})
    status, answer = await links.call("POST", "/api/urls/bulk", alice, b"[1, 2")
    assert (status, answer["message"]) == (400, "Malformed JSON body.")
    assert await owned(pg_pool, alice.user_id) == []


async def test_quota_of_ten_with_fifteen_items(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user(ten_links())
    await links.add(alice, url="https://example.com/first")
    items = [{"url": f"https://example.com/{i}"} for i in range(15)]
    items[2] = {"url": "javascript:alert(1)"}  # a refused item takes no room
    body = await bulk(links, alice, items)
    assert (body["created"], body["failed"]) == (9, 6)
    refused = [r for r in body["results"] if r["error"]]
    assert refused[0]["index"] == 2
    assert [r["index"] for r in refused[1:]] == [10, 11, 12, 13, 14]
    assert {r["message"] for r in refused[1:]} == {QUOTA_MESSAGE}
    assert len(await owned(pg_pool, alice.user_id)) == 10
    status, single = await links.call("POST", "/api/url/add", alice, {"url": "https://e.com"})
    assert (status, single["message"]) == (403, QUOTA_MESSAGE)


async def test_quota_is_exact_under_concurrency(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user(ten_links())

    async def one_bulk(n: int) -> int:
        body = await bulk(links, alice, [{"url": f"https://example.com/{n}/{i}"} for i in range(6)])
        created: int = body["created"]
        return created

    async def one_add(n: int) -> int:
        status, _ = await links.call("POST", "/api/url/add", alice, {"url": f"https://e.com/{n}"})
        return 1 if status == 200 else 0

    made = await asyncio.gather(*[one_bulk(n) for n in range(4)], *[one_add(n) for n in range(4)])
    assert sum(made) == 10
    assert len(await owned(pg_pool, alice.user_id)) == 10


async def test_a_thousand_items_in_one_request(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    items = [{"url": f"https://example.com/page/{i}", "title": f"Page {i}"} for i in range(1000)]
    body = await bulk(links, alice, items)
    assert (body["created"], body["failed"]) == (1000, 0)
    rows = await owned(pg_pool, alice.user_id)
    assert len(rows) == 1000
    assert len({r["alias"] for r in rows}) == 1000
    by_id = {r["id"]: r for r in rows}
    for i, result in enumerate(body["results"]):
        row = by_id[result["id"]]
        assert row["long_url"] == f"https://example.com/page/{i}"
        assert result["shorturl"] == f"{links.settings.public_base_url}/{row['alias']}"


async def test_rerun_with_sources_creates_nothing_twice(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    items = [
        {
            "url": f"https://example.com/{i}",
            "custom": f"kept-{i}",
            "source": f"bitly:bit.ly/k{i}",
            "created": "2020-05-17 10:00:00",
        }
        for i in range(3)
    ]
    items.append({**items[0], "custom": "other-alias"})  # the same source twice
    first = await bulk(links, alice, items)
    assert (first["created"], first["existing"]) == (3, 1)
    assert first["results"][3]["id"] == first["results"][0]["id"]
    again = await bulk(links, alice, items)
    assert (again["created"], again["existing"], again["failed"]) == (0, 4, 0)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert all(r["existing"] for r in again["results"])
    rows = await owned(pg_pool, alice.user_id)
    assert [r["alias"] for r in rows] == ["kept-0", "kept-1", "kept-2"]
    assert {r["created_at"].strftime("%Y-%m-%d") for r in rows} == {"2020-05-17"}
    # Another user importing the same sources gets their own links.
    bob = principals.user()
    theirs = await bulk(links, bob, [{**items[0], "custom": "bobs-0"}])
    assert theirs["created"] == 1


async def test_new_links_are_announced_to_the_edges(
    links: LinksApi, invalidations: Invalidations
) -> None:
    """An edge that cached an alias as missing forgets it once the link exists."""
    alice = principals.user()
    body = await bulk(
        links, alice, [{"url": f"https://example.com/{i}", "custom": f"fresh-{alice.user_id}-{i}"}
                       for i in range(3)]
    )  # fmt: skip
    assert body["created"] == 3
    for i in range(3):
        await invalidations.wait_for(link_key_suffix("_", f"fresh-{alice.user_id}-{i}"))
