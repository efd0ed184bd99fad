"""Tracking pixels (API.md section 9): the published shapes, tags checked per
provider so that no markup is ever stored, plan gates, ownership, and links
whose snapshots carry the resolved pixels."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shared.identity import Principal
from tests.links.conftest import (
    Invalidations,
    LinksApi,
    only_page,
    owned_rows,
    published_dates,
)
from tests.support import principals

VALID_TAGS: list[tuple[str, Any, str]] = [
    # (type, tag as sent, tag as stored)
    ("gtmpixel", "GTM-ABCDE", "GTM-ABCDE"),
    ("gtmpixel", "gtm-k7x9p2q", "GTM-K7X9P2Q"),
    ("gapixel", "G-XYZ789ABCD", "G-XYZ789ABCD"),
    ("gapixel", "UA-12345678-1", "UA-12345678-1"),
    ("fbpixel", "123456789012345", "123456789012345"),
    ("fbpixel", 123456789012345, "123456789012345"),
    ("adwordspixel", "AW-123456789", "AW-123456789"),
    ("linkedinpixel", "1234567", "1234567"),
    ("twitterpixel", "o1abc", "o1abc"),
    ("twitterpixel", "1234567", "1234567"),
    (
        "adrollpixel",
        "ABCDEFGHIJKLMNOPQRSTUV/WXYZ0123456789ABCDEF",
        "ABCDEFGHIJKLMNOPQRSTUV/WXYZ0123456789ABCDEF",
    ),
    ("quorapixel", "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ("pinterest", "2612345678901", "2612345678901"),
    ("bing", "12345678", "12345678"),
    (
        "snapchat",
        "01234567-89AB-cdef-0123-456789abcdef",
        "01234567-89ab-cdef-0123-456789abcdef",
    ),
    ("reddit", "t2_abc123", "t2_abc123"),
    ("reddit", "a2_XYZ789", "a2_xyz789"),
]

HOSTILE_TAGS: list[Any] = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    'GTM-ABCDE"><img src=x onerror=alert(1)>',
    "GTM-ABCDE'",
    "GTM-ABCDE');alert(1);//",
    "javascript:alert(1)",
    "GTM-ABCDE\n<script>alert(1)</script>",
    "GTM-ABCDE\n",
    " GTM-ABCDE",
    "GTM-AB CDE",
    "GTM-ABCDE</script>",
    "GTM-ABCDE&amp;",
    "GTM-ABCDE\u2028",
    "GTM-\uff21\uff22\uff23\uff24",  # full-width letters
    "",
    None,
    ["GTM-ABCDE"],
    {"tag": "GTM-ABCDE"},
    True,
    "GTM-" + "A" * 200,
]


pixel_rows = owned_rows("pixel")


async def add_pixel(
    links: LinksApi, who: Principal, type_: str = "gtmpixel", tag: Any = "GTM-ABCDE"
) -> int:
    return await links.create(who, "pixel", type=type_, name="My pixel", tag=tag)


async def test_add_list_get_update_delete(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    first = await add_pixel(links, alice, "gtmpixel", "GTM-ABCDE")
    second = await add_pixel(links, alice, "twitterpixel", "1234567")
    body = await links.fetch(alice, "/api/pixels?limit=2&page=1")
    rows = await pixel_rows(pg_pool, alice)
    dates = published_dates(rows)
    assert body == only_page(
        "pixels",
        [
            {
                "id": second,
                "type": "twitterpixel",
                "name": "My pixel",
                "tag": "1234567",
                "date": dates[second],
            },
            {
                "id": first,
                "type": "gtmpixel",
                "name": "My pixel",
                "tag": "GTM-ABCDE",
                "date": dates[first],
            },
        ],
    )
    body = await links.fetch(alice, f"/api/pixel/{first}")
    assert body["data"]["tag"] == "GTM-ABCDE"

    await links.assert_updated(alice, "pixel", first, {"name": "Renamed", "tag": "GTM-ZZZZ99"})
    row = (await pixel_rows(pg_pool, alice))[0]
    assert (row["name"], row["tag"], row["type"]) == ("Renamed", "GTM-ZZZZ99", "gtmpixel")

    await links.assert_deleted(alice, "pixel", first)
    assert [r["id"] for r in await pixel_rows(pg_pool, alice)] == [second]


@pytest.mark.parametrize(("type_", "sent", "stored"), VALID_TAGS)
async def test_each_provider_accepts_its_id_format(
    links: LinksApi, pg_pool: asyncpg.Pool, type_: str, sent: Any, stored: str
) -> None:
    alice = principals.user()
    await add_pixel(links, alice, type_, sent)
    (row,) = await pixel_rows(pg_pool, alice)
    assert (row["type"], row["tag"]) == (type_, stored)


@pytest.mark.parametrize("tag", HOSTILE_TAGS)
async def test_markup_and_malformed_tags_are_refused_and_nothing_is_stored(
    links: LinksApi, pg_pool: asyncpg.Pool, tag: Any
) -> None:
    alice = principals.user()
    assert "tag" in await links.refused(
        alice, "pixel", {"type": "gtmpixel", "name": "x", "tag": tag}
    )
    assert await pixel_rows(pg_pool, alice) == []


@pytest.mark.parametrize(
    ("type_", "tag"),
    [
        ("fbpixel", "12345abc"),
        ("fbpixel", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667"),  # Arabic-Indic digits
        ("gapixel", "GTM-ABCDE"),
        ("gtmpixel", "G-ABCDEF"),
        ("adwordspixel", "AW-12345'"),
        ("linkedinpixel", "12;alert(1)"),
        ("twitterpixel", "o1a-b"),
        ("adrollpixel", "ABCDEFGHIJKLMNOPQRSTUV"),
        ("quorapixel", "xyz0123456789abcdef0123456789abc"),
        ("pinterest", "javascript:alert(1)"),
        ("bing", "1234</script>"),
        ("snapchat", "01234567-89ab-cdef-0123-456789abcdeg"),
        ("reddit", "t3_abc123"),
        ("reddit", "t2_abc123\n"),
    ],
)
async def test_tags_must_match_their_providers_format(
    links: LinksApi, pg_pool: asyncpg.Pool, type_: str, tag: str
) -> None:
    alice = principals.user()
    message = await links.refused(alice, "pixel", {"type": type_, "name": "x", "tag": tag})
    assert f"for a {type_} pixel" in message
    assert await pixel_rows(pg_pool, alice) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "tag": "GTM-ABCDE"}, "The field 'type' is required."),
        ({"type": "evilpixel", "name": "x", "tag": "1"}, "The field 'type' must be one of"),
        ({"type": "gtmpixel", "tag": "GTM-ABCDE"}, "The field 'name' is required."),
        ({"type": "gtmpixel", "name": "  ", "tag": "GTM-ABCDE"}, "must not be empty"),
        ({"type": "gtmpixel", "name": "x"}, "The field 'tag' is required."),
        ({"type": "gtmpixel", "name": "x" * 101, "tag": "GTM-ABCDE"}, "at most 100"),
    ],
)
async def test_required_fields(
    links: LinksApi, pg_pool: asyncpg.Pool, body: dict[str, Any], message: str
) -> None:
    alice = principals.user()
    assert message in await links.refused(alice, "pixel", body)
    assert await pixel_rows(pg_pool, alice) == []


async def test_update_checks_the_tag_against_the_type(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    pixel_id = await add_pixel(links, alice, "fbpixel", "123456789")
    before = await pixel_rows(pg_pool, alice)
    for change in (
        {"tag": '123"><script>alert(1)</script>'},
        {"tag": "GTM-ABCDE"},
        {"type": "gtmpixel"},  # the stored tag is no GTM id
        {"name": ""},
    ):
        status, body = await links.call("PUT", f"/api/pixel/{pixel_id}/update", alice, change)
        assert status == 400, (change, body)
    assert await pixel_rows(pg_pool, alice) == before
    status, _ = await links.call(
        "PUT", f"/api/pixel/{pixel_id}/update", alice, {"type": "bing", "tag": "1234567"}
    )
    assert status == 200
    (row,) = await pixel_rows(pg_pool, alice)
    assert (row["type"], row["tag"]) == ("bing", "1234567")


async def test_another_users_pixel_is_not_found(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    pixel_id = await add_pixel(links, alice)
    before = await pixel_rows(pg_pool, alice)
    await links.assert_not_found(bob, "pixel", pixel_id)
    status, answer = await links.call("GET", "/api/pixels", bob)
    assert answer["data"]["pixels"] == []
    assert await pixel_rows(pg_pool, alice) == before

    # Nor can a link use it.
    status, answer = await links.call(
        "POST", "/api/url/add", bob, {"url": "https://example.com", "pixels": [pixel_id]}
    )
    assert status == 404
    assert answer["message"] == f"Pixel {pixel_id} not found. Add it first with /api/pixel/add."
    assert (
        await pg_pool.fetchval("SELECT count(*) FROM links.links WHERE owner_id = $1", bob.user_id)
        == 0
    )


async def test_link_snapshots_carry_resolved_pixels_and_follow_changes(
    links: LinksApi, invalidations: Invalidations
) -> None:
    alice = principals.user()
    fb = await add_pixel(links, alice, "fbpixel", "1234567890")
    gtm = await add_pixel(links, alice, "gtmpixel", "GTM-ABC123")
    alias = f"px-{alice.user_id}"
    added = await links.add(alice, url="https://example.com/px", custom=alias, pixels=[gtm, fb])
    suffix = f"link:_:{alias}"
    snap = await invalidations.snapshot_after(suffix)
    assert snap["pixels"] == [
        {"type": "gtmpixel", "tag": "GTM-ABC123"},
        {"type": "fbpixel", "tag": "1234567890"},
    ]

    await links.assert_updated(alice, "pixel", fb, {"tag": "999999999"})
    snap = await invalidations.snapshot_after(suffix, times=2)
    assert snap["pixels"][1] == {"type": "fbpixel", "tag": "999999999"}

    await links.assert_deleted(alice, "pixel", gtm)
    snap = await invalidations.snapshot_after(suffix, times=3)
    assert snap["pixels"] == [{"type": "fbpixel", "tag": "999999999"}]
    assert (await links.details(alice, added["id"]))["pixels"] == [fb]


async def test_a_link_update_with_a_missing_pixel_changes_nothing(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    mine = await add_pixel(links, alice)
    added = await links.add(alice, url="https://example.com", pixels=[mine])
    before = await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"])
    status, body = await links.call(
        "PUT",
        f"/api/url/{added['id']}/update",
        alice,
        {"pixels": [mine, mine + 10_000_000], "url": "https://example.com/changed"},
    )
    assert status == 404
    assert body["message"].startswith(f"Pixel {mine + 10_000_000} not found.")
    assert await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"]) == before
